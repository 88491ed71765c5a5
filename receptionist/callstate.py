"""A live call's state per CallSid: in Redis with an expiry; in the call record while Redis is unreachable."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from sqlalchemy import update

from . import keys
from .store import Call, Store

log = logging.getLogger(__name__)

TTL_SECONDS = 4 * 3600
ENDED_TTL_SECONDS = 600


class CallStates:
    def __init__(self, client: redis.Redis, store: Store) -> None:
        self.client = client
        self.store = store

    def load(self, call_sid: str) -> dict[str, Any] | None:
        try:
            raw = self.client.get(keys.call_state(call_sid))
            if raw is not None:
                return json.loads(raw)
        except (redis.RedisError, OSError):
            log.warning("call %s: Redis unavailable, reading call state from the store", call_sid)
        except ValueError:
            log.error("call %s: unreadable call state in Redis", call_sid)
        with self.store.sessions() as session:
            call = session.get(Call, call_sid)
            return dict(call.state) if call is not None and call.state else None

    def save(self, call_sid: str, state: dict[str, Any], *, ended: bool = False) -> None:
        body = json.dumps(state, separators=(",", ":"))
        try:
            self.client.set(keys.call_state(call_sid), body, ex=ENDED_TTL_SECONDS if ended else TTL_SECONDS)
            return
        except (redis.RedisError, OSError):
            log.warning("call %s: Redis unavailable, keeping call state in the store", call_sid)
        with self.store.session() as session:
            session.execute(update(Call).where(Call.sid == call_sid).values(state=state))
