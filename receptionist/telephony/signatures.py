"""Twilio's request signature (`X-Twilio-Signature`), checked as the twilio package's RequestValidator does.

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
from collections.abc import Mapping
from hashlib import sha1
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port


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
