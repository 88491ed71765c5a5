"""Every Twilio-facing route checks `X-Twilio-Signature` with the real RequestValidator: 403 and no side effect."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

from . import services_of

log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio called, as Twilio saw it: PUBLIC_BASE_URL plus the path and query string."""
    base = services_of(current_app).settings.base_url
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    """One validator per auth token, not one per request."""
    return RequestValidator(token)


def twilio_signed(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN202
        services = services_of(current_app)
        validator = _validator(services.settings.auth_token)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(signed_url(), request.form.to_dict(flat=True), signature):
            log.warning("rejected %s: bad or missing Twilio signature", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped
