"""A live call's state per CallSid: in Redis with an expiry; in the call record while Redis is unreachable.

A webhook's call-record writes (`callrecord.py` operations) and its counters ride along with the state until
it is saved, then go to Redis in the same MULTI as the state: one round trip per webhook, and a call's state
and the journal entries describing it are kept together or not at all. When Redis is unreachable the
entries are applied to SQL at once instead (`journal.write_direct`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from sqlalchemy import update

from receptionist.store import Call, Store, keys
from receptionist.store.scripts import HotScript
from receptionist.voice import journal

log = logging.getLogger(__name__)

TTL_SECONDS = 4 * 3600
ENDED_TTL_SECONDS = 600
COUNTER_TTL_SECONDS = 86400
_JOURNAL = "_journal"  # reserved keys of a state dict: pending writes, never saved as state
_COUNTERS = "_counters"

# The whole write in one atomic command with one reply (a MULTI of the same costs a reply per command).
# KEYS: state key ("" for none), journal, counters...; ARGV: state body, ttl, n journal entries, entries...
_WRITE = """
if KEYS[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 4, 3 + n)) end
for i = 3, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[4 + n])
end
return 1
"""


class CallStates:
    def __init__(self, client: redis.Redis, store: Store) -> None:
        self.client = client
        self.store = store
        self._write = HotScript(client, _WRITE)

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

    @staticmethod
    def record(state: dict[str, Any], entry: dict) -> None:
        """A call-record operation to write with the state when it is next saved."""
        state.setdefault(_JOURNAL, []).append(entry)

    @staticmethod
    def count(state: dict[str, Any], key: str) -> None:
        """A counter to increment (with a day's expiry) when the state is next saved."""
        state.setdefault(_COUNTERS, []).append(key)

    def save(self, call_sid: str, state: dict[str, Any], *, ended: bool = False) -> None:
        entries = state.pop(_JOURNAL, [])
        counters = state.pop(_COUNTERS, [])
        body = json.dumps(state, separators=(",", ":"))
        lines = journal.encode(entries)
        try:
            self._write(
                [keys.call_state(call_sid) if call_sid else "", keys.journal(), *counters],
                [body, ENDED_TTL_SECONDS if ended else TTL_SECONDS, len(lines), *lines, COUNTER_TTL_SECONDS],
            )
            return
        except (redis.RedisError, OSError):
            log.warning(
                "call %s: Redis unavailable, writing the call record and state to the store", call_sid
            )
        journal.write_direct(self.store, entries)
        if call_sid:
            with self.store.session() as session:
                session.execute(update(Call).where(Call.sid == call_sid).values(state=state))
