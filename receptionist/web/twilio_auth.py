"""Every Twilio-facing route checks `X-Twilio-Signature` as the twilio package's RequestValidator does: 403 and no
side effect.

`RequestValidator.validate` computes the HMAC of the request for the URL with and without its port and accepts
either. `Signatures.valid` accepts exactly the same requests (tests/test_twilio_auth.py holds it to the real
validator, with Hypothesis over URLs and parameters) but stops at the first variant that matches, trying the
URL as given first: one HMAC per genuine request instead of two. The variants come from the package's own
`add_port`/`remove_port`, worked out once per URL.
"""

from __future__ import annotations

import base64
import functools
import hmac
import logging
from collections.abc import Callable, Mapping
from hashlib import sha1
from urllib.parse import urlparse

from flask import abort, current_app, g, request
from twilio.request_validator import RequestValidator, add_port, remove_port

from receptionist.web import services_of

log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio called, as Twilio saw it: PUBLIC_BASE_URL plus the path and query string."""
    base = services_of(current_app).settings.base_url
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


@functools.lru_cache(maxsize=512)
def url_variants(url: str) -> tuple[str, ...]:
    """The URLs `RequestValidator.validate` signs for `url` (without and with its port), the URL itself first."""
    parsed = urlparse(url)
    variants = (remove_port(parsed), add_port(parsed))
    return tuple(sorted(set(variants), key=lambda v: v != url))


class Signatures:
    """`RequestValidator(token).validate(url, params, signature)` for form parameters (a dict of strings)."""

    def __init__(self, token: str) -> None:
        self.validator = RequestValidator(token)  # what this is held to; and the one to use for anything else
        self._mac = hmac.new(token.encode("utf-8"), digestmod=sha1)

    def signature(self, url: str, params: Mapping[str, str]) -> str:
        """`RequestValidator.compute_signature` for single-valued parameters."""
        mac = self._mac.copy()
        mac.update((url + "".join(name + params[name] for name in sorted(params))).encode("utf-8"))
        return base64.b64encode(mac.digest()).decode("utf-8")

    def valid(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        given = signature.encode("utf-8", "surrogatepass")
        return any(
            hmac.compare_digest(self.signature(variant, params).encode("utf-8"), given)
            for variant in url_variants(url)
        )


@functools.lru_cache(maxsize=4)
def signatures(token: str) -> Signatures:
    """One per auth token, not one per request."""
    return Signatures(token)


def twilio_signed(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
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
    return g.twilio_params
