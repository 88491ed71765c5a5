"""Per-integration API keys: created and revoked with the CLI, shown once, stored as a SHA-256 hash.

A token reads `rk_<key id>_<secret>`: the id finds the row, the hash of the whole token is compared in constant
time. Each key also has a signing secret (shown once too) for HMAC-signed requests and the webhooks it gets,
kept encrypted (`sealing`), and scopes: what it may do (least privilege, one key per integration).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from receptionist.integrations.sealing import Sealer
from receptionist.store import ApiKey, Store

# scope -> what it allows
SCOPES = {
    "booking": "POST /api/v1/booking-events (online booking)",
    "intake": "POST /api/v1/intake (digital intake forms)",
    "pms": "PUT /api/v1/patients, /visits, /appointments (practice-management sync)",
    "fhir": "POST /api/v1/fhir (FHIR bundles)",
    "lookup": "find a patient by phone or email instead of by patient id (booking events)",
    "stats": "GET /api/stats (outcome statistics, revenue and cost)",
}
# what `keys add` gives without --scope: every write, no look-ups by phone or email, no statistics
DEFAULT_SCOPES = ("booking", "intake", "pms", "fhir")


class UnknownScope(ValueError):
    pass


@dataclass(frozen=True)
class NewKey:
    id: str
    name: str
    token: str
    signing_secret: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass(frozen=True)
class Caller:
    """The integration behind an authenticated request."""

    key_id: str
    name: str
    signing_secret: str
    require_signature: bool
    webhook_url: str
    scopes: frozenset[str] = frozenset()

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise UnknownScope(f"unknown scope {unknown[0]!r} (one of: {', '.join(SCOPES)})")
    return chosen


def create_key(
    store: Store,
    name: str,
    *,
    sealer: Sealer,
    webhook_url: str = "",
    require_signature: bool = False,
    scopes: Iterable[str] = DEFAULT_SCOPES,
) -> NewKey:
    chosen = check_scopes(scopes) or DEFAULT_SCOPES
    key_id = secrets.token_hex(6)
    token = f"rk_{key_id}_{secrets.token_urlsafe(32)}"
    secret = "whsec_" + secrets.token_urlsafe(32)
    with store.session() as s:
        s.add(
            ApiKey(
                id=key_id,
                name=name,
                token_hash=_hash(token),
                signing_secret=sealer.seal(secret),
                require_signature=require_signature,
                webhook_url=webhook_url,
                scopes=" ".join(chosen),
            )
        )
    return NewKey(key_id, name, token, secret, chosen)


def list_keys(store: Store) -> list[ApiKey]:
    with store.sessions() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(store: Store, key_id: str, now: dt.datetime) -> bool:
    """True when the key existed and was live; a revoked key stops working at once."""
    with store.session() as s:
        key = s.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            return False
        key.revoked_at = now
        return True


def authenticate(store: Store, sealer: Sealer, token: str) -> Caller | None:
    """The live key this token belongs to, or None."""
    if not token.startswith("rk_") or token.count("_") < 2:
        return None
    key_id = token[3:].partition("_")[0]
    with store.sessions() as s:
        key = s.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.token_hash, _hash(token)):
        return None
    return Caller(
        key.id,
        key.name,
        sealer.open(key.signing_secret),
        key.require_signature,
        key.webhook_url,
        frozenset(key.scopes.split()),
    )
