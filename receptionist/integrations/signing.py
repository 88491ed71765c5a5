"""HMAC-SHA256 request signatures with a timestamp, for requests in and webhooks out (no I/O).

Header, exactly: `X-Signature: t=<unix seconds>,v2=<64 lower-case hex>`, the HMAC-SHA256 under the key's signing
secret of `"<t>.<METHOD>.<path>.<raw body>"` (`path` is the request's path, with `?query` when it has one).
The parser is strict: those two fields, in that order, once each, `t` in plain digits without a sign or a
leading zero. So one signed request has one spelling, and the API's replay cache (keyed on the `(t, v2)` that
verified) refuses it a second time however it is re-spelt; signing the method and path stops a body signed for
one route being played to another.

The first format (`v1`, the body alone) is no longer accepted: it could not be told apart from a replay to
another route, so there is no transition that keeps the replay protection (README, CHANGELOG).
"""

from __future__ import annotations

import hashlib
import hmac
import re

TOLERANCE_S = 300
VERSION = "v2"
_HEADER = re.compile(r"t=(0|[1-9][0-9]{0,11}),v2=([0-9a-f]{64})")


class BadSignature(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _mac(secret: str, method: str, path: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.{method.upper()}.{path}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, method: str, path: str, body: bytes, timestamp: int) -> str:
    """The `X-Signature` header value for this request."""
    return f"t={timestamp},{VERSION}={_mac(secret, method, path, body, timestamp)}"


def parse(header: str) -> tuple[int, str]:
    """(t, mac) of a header in the one accepted spelling; else `BadSignature`."""
    found = _HEADER.fullmatch(header)
    if found is None:
        raise BadSignature(
            "bad_signature", "X-Signature must be exactly t=<unix seconds>,v2=<64 lower-case hex digits>"
        )
    return int(found.group(1)), found.group(2)


def verify(
    secret: str, header: str, method: str, path: str, body: bytes, now: float, tolerance: int = TOLERANCE_S
) -> tuple[int, str]:
    """The `(t, mac)` that verified when `header` signs this request within the tolerance; else `BadSignature`."""
    timestamp, mac = parse(header)
    if abs(now - timestamp) > tolerance:
        raise BadSignature(
            "stale_signature", f"the signature's timestamp is more than {tolerance} s away from now"
        )
    if not hmac.compare_digest(_mac(secret, method, path, body, timestamp), mac):
        raise BadSignature("bad_signature", "the signature does not match the method, path and body")
    return timestamp, mac
