"""Every Twilio-facing route checks `X-Twilio-Signature` (`receptionist.telephony.signatures`): 403 and no side
effect. The verified form is parsed once, into the typed parameters the call flow takes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import abort, current_app, g, request

from receptionist.telephony.params import CallParams, MessageParams
from receptionist.telephony.signatures import signatures
from receptionist.web.extension import services_of

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def signed_url() -> str:
    """The URL Twilio called, as Twilio saw it: PUBLIC_BASE_URL plus the path and query string."""
    base = services_of(current_app).settings.base_url
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def twilio_signed(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        services = services_of(current_app)
        signature = request.headers.get("X-Twilio-Signature", "")
        params = request.form.to_dict(flat=True)
        if not signature or not signatures(services.settings.auth_token).valid(
            signed_url(), params, signature
        ):
            log.warning("rejected %s: bad or missing Twilio signature", request.path)
            abort(403)
        g.twilio_params = params
        return view(*args, **kwargs)

    return wrapped


def twilio_params() -> dict[str, str]:
    """The form parameters of the request `twilio_signed` verified (parsed once, for the check)."""
    params: dict[str, str] = g.twilio_params
    return params


def call_params() -> CallParams:
    """The verified voice webhook's parameters, typed: what the call flow takes."""
    return CallParams.parse(g.twilio_params)


def message_params() -> MessageParams:
    """The verified messaging webhook's parameters, typed."""
    return MessageParams.parse(g.twilio_params)
