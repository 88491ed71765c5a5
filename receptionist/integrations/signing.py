"""HMAC-SHA256 body signatures with a timestamp, for requests in and webhooks out (no I/O).

Header: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the key's signing secret>`.
A signature more than `TOLERANCE_S` away from now is refused; the API remembers accepted ones until then, so a
captured request cannot be played again.
"""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE_S = 300


class BadSignature(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = TOLERANCE_S) -> int:
    """The signed timestamp when `header` signs `body` within the tolerance; else `BadSignature`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise BadSignature("bad_signature", "X-Signature needs t=<unix seconds>,v1=<hex>") from None
    if abs(now - timestamp) > tolerance:
        raise BadSignature(
            "stale_signature", f"the signature's timestamp is more than {tolerance} s away from now"
        )
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise BadSignature("bad_signature", "the signature does not match the body")
    return timestamp
