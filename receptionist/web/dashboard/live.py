"""Live parts of pages (Today, Inbox, Calls, the schedule's grid): the page renders a part once, and the
browser asks for it again every few seconds (`static/dashboard/live.js`) and swaps it in, with no reload.

Each answer carries an ETag, a hash of the part's HTML (the forms' CSRF tokens left out: they change every
second and say nothing about the patients), and the browser sends it back: an unchanged part is a 304, with
no body and no audit entry, so only a part that shows something new is sent and audited.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from flask import Response, render_template, request
from markupsafe import Markup

_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')
EVERY_S = 5  # how often a page asks for its live parts


def render_part(template: str, **context: Any) -> tuple[Markup, str]:
    """The part's HTML (escaped by the template) and its ETag."""
    html = render_template(template, **context)
    tag = '"' + hashlib.sha256(_TOKEN.sub("", html).encode()).hexdigest()[:20] + '"'
    return Markup(html), tag


def part_response(template: str, audit: Callable[[], None], **context: Any) -> Response:
    """The part for a live refresh: 304 when the browser has it already, else the HTML (audited)."""
    html, tag = render_part(template, **context)
    if request.headers.get("If-None-Match") == tag:
        return Response(status=304, headers={"ETag": tag})
    audit()
    return Response(str(html), mimetype="text/html", headers={"ETag": tag})
