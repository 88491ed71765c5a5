"""API signing secrets kept encrypted in the store (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

HMAC verification needs the secret itself, so a hash cannot do; the store keeps `fernet:<token>` under a key
that lives outside the database: `RECEPTIONIST_SECRETS_KEY`, else a key generated into the data folder (0600).
A copy of the database alone (a backup, a dump) then reveals no signing secret. Rows written before this
(plain text) are sealed at start (`seal_plain_rows`).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from receptionist.store import ApiKey, Store

PREFIX = "fernet:"


class SecretsKeyMismatch(RuntimeError):
    """A sealed secret does not open with this key (RECEPTIONIST_SECRETS_KEY or the data folder's changed)."""


class Sealer:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before sealing; `seal_plain_rows` seals it at the next start
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretsKeyMismatch(
                "an API signing secret does not open with this secrets key (was RECEPTIONIST_SECRETS_KEY or "
                "the data folder's secrets_key changed?)"
            ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def seal_plain_rows(store: Store, sealer: Sealer) -> int:
    """Encrypt every signing secret still kept in plain text; returns how many."""
    sealed = 0
    with store.session() as s:
        for key in s.scalars(select(ApiKey).where(ApiKey.signing_secret.not_like(PREFIX + "%"))):
            key.signing_secret = sealer.seal(key.signing_secret)
            sealed += 1
    return sealed
