"""Shared set-up for integration API tests: a world with the app, an API key, and signed or plain requests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from receptionist.integrations import signing
from receptionist.integrations.apikeys import SCOPES, NewKey, create_key


@dataclass
class Api:
    client: object
    key: NewKey
    now: Callable[[], dt.datetime]  # the app's clock: signatures are dated by it

    def headers(
        self,
        body: bytes,
        *,
        method: str = "POST",
        path: str = "/",
        key: str | None = None,
        sign: bool = False,
        at: float | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        h = {"Authorization": f"Bearer {key or self.key.token}", "Content-Type": "application/json"}
        if sign:
            h["X-Signature"] = signing.sign(
                secret or self.key.signing_secret, method, path, body, int(at or self.now().timestamp())
            )
        return h

    def send(self, method: str, path: str, payload=None, *, raw: bytes | None = None, **kw):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = kw.pop("headers", None) or self.headers(body, method=method, path=path, **kw)
        return self.client.open(path, method=method, data=body, headers=headers)


def make_api(services, app, **key) -> Api:
    """A key with every scope unless told otherwise (`scopes=...`)."""
    key.setdefault("scopes", tuple(SCOPES))
    return Api(
        app.test_client(),
        create_key(services.store, "test integration", sealer=services.sealer, **key),
        services.now,
    )
