"""A live call's state per CallSid: in Redis with an expiry, and a durable copy in the call record.

A webhook's call-record writes (`callrecord.py` operations) and its counters ride along with the state until
it is saved, then go to Redis in the same atomic write as the state: one round trip per webhook, and a call's
state and the journal entries describing it are kept together or not at all. When Redis is unreachable the
entries are applied to SQL at once instead (`journal.write_direct`).

Every save numbers the state (`rev`) and adds a snapshot of it to the journal, so the worker's drain keeps the
call record's copy (`Call.state`) a few seconds behind Redis, and only ever moves it forward. The TwiML that
waits for the caller carries the number it was saved with (`/voice/gather?rev=N`), so the next webhook knows
which state it needs: Redis's when it is that new; else the call record's (Redis was unreachable, restarted
empty, or came back with older data than the store holds); else the newer of the two. A Redis outage or
restart mid-call therefore resumes the dialogue where it was, and stale state never wins over newer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from receptionist.store import Call, Store, keys
from receptionist.store.scripts import HotScript
from receptionist.voice import callrecord, journal

log = logging.getLogger(__name__)

TTL_SECONDS = 4 * 3600
ENDED_TTL_SECONDS = 600
COUNTER_TTL_SECONDS = 86400

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


@dataclass(frozen=True)
class PendingTurn:
    """A caller turn a slow engine is still working on, left for the wait route (`/voice/gather/wait`)."""

    token: str
    speech: str | None = None
    digits: str | None = None
    confidence: float | None = None


@dataclass
class CallState:
    """A live call's state between webhooks, stored as JSON under its CallSid with the keys of these fields.

    Reading is lenient (`from_json`): a key this release does not know is dropped and a missing one takes its
    default, so a call in progress carries on across a deploy in either direction. `writes` and `counters` are
    not state: they ride along to the next save (the call record's journal entries, the day's counters)."""

    location_id: str | None = None
    caller: str | None = None  # E.164, None for a withheld number
    patient_id: str | None = None
    tier: str | None = None
    route: str = "ai"  # routing's decision: "staff" or "ai"
    reason: str = "routine"  # why the AI has the call: routine, after_hours, transfer_failed, reactivation
    direction: Literal["inbound", "outbound"] = "inbound"
    attempt: str | None = None  # the outreach attempt of an outbound call
    first_name: str | None = None  # None: not looked up yet; "": none on file
    engine: dict[str, Any] = field(default_factory=dict)  # the engine's own dialogue state (JSON)
    turn: int = 0  # caller turns taken so far: the next turn's sequence number
    transfer: str | None = None  # accepted, declined, no-answer, busy
    transfer_reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # what the call achieved (callrecord.apply_event)
    pending: PendingTurn | None = None
    handoff: str | None = None  # what a relay session asked for when it ends: "transfer" or "hangup"
    ended: bool = False
    verified: list[str] = field(default_factory=list)  # patients whose identity the caller confirmed
    language: str = "en"
    rev: int = 0  # saves so far: the number of this state (the newest wins, in Redis and in the call record)
    writes: list[dict[str, Any]] = field(default_factory=list, repr=False)
    counters: list[str] = field(default_factory=list, repr=False)

    def record(self, entry: dict[str, Any]) -> None:
        """A call-record operation to write with the state when it is next saved."""
        self.writes.append(entry)

    def count(self, key: str) -> None:
        """A counter to increment (with a day's expiry) when the state is next saved."""
        self.counters.append(key)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        del body["writes"], body["counters"]
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallState:
        known = {f.name for f in fields(cls)} - {"writes", "counters"}
        values = {k: v for k, v in data.items() if k in known}
        pending = values.get("pending")
        if isinstance(pending, dict) and pending.get("token"):
            values["pending"] = PendingTurn(
                str(pending["token"]), pending.get("speech"), pending.get("digits"), pending.get("confidence")
            )
        else:
            values["pending"] = None
        for name in ("engine", "facts"):
            if not isinstance(values.get(name), dict):
                values.pop(name, None)
        if not isinstance(values.get("verified"), list):
            values.pop("verified", None)
        return cls(**values)


class CallStates:
    def __init__(self, client: redis.Redis, store: Store) -> None:
        self.client = client
        self.store = store
        self._write = HotScript(client, _WRITE)

    def load(self, call_sid: str, *, rev: int | None = None) -> CallState | None:
        """The call's state; `rev`, the number the webhook's TwiML was saved with, when the URL carries one.

        Redis answers when its state is at least that new (one round trip, the usual case); otherwise the
        call record's durable copy is read too and the newer of the two wins."""
        cached: CallState | None = None
        try:
            raw = self.client.get(keys.call_state(call_sid))
            if raw is not None:
                cached = CallState.from_json(json.loads(raw))
        except (redis.RedisError, OSError):
            log.warning("call %s: Redis unavailable, reading call state from the store", call_sid)
        except (ValueError, TypeError):
            log.error("call %s: unreadable call state in Redis", call_sid)
        if cached is not None and (rev is None or cached.rev >= rev):
            return cached
        try:
            with self.store.sessions() as session:
                kept = session.scalar(select(Call.state).where(Call.sid == call_sid))
        except SQLAlchemyError:
            log.warning("call %s: the store is unavailable for the call state", call_sid)
            return cached
        durable = CallState.from_json(dict(kept)) if isinstance(kept, dict) and kept else None
        if durable is not None and (cached is None or durable.rev > cached.rev):
            if cached is not None:
                log.warning("call %s: Redis held an older call state; resuming from the store's", call_sid)
            return durable
        return cached

    def save(self, call_sid: str, state: CallState, *, ended: bool = False) -> None:
        """The state, its journal entries and its counters in one atomic write; to SQL if Redis is down.
        `call_sid` "" writes the entries only (a call with no state to keep)."""
        entries, counters = state.writes, state.counters
        state.writes, state.counters = [], []
        if call_sid:
            state.rev += 1
        body = state.to_json()
        text = json.dumps(body, separators=(",", ":"))
        lines = journal.encode(entries)
        if call_sid:
            lines.append(callrecord.state_entry(call_sid, state.rev, text))
        try:
            self._write(
                [keys.call_state(call_sid) if call_sid else "", keys.journal(), *counters],
                [
                    text,
                    ENDED_TTL_SECONDS if ended else TTL_SECONDS,
                    len(lines),
                    *lines,
                    COUNTER_TTL_SECONDS,
                ],
            )
            return
        except (redis.RedisError, OSError):
            log.warning(
                "call %s: Redis unavailable, writing the call record and state to the store", call_sid
            )
        if call_sid:
            entries = [*entries, callrecord.state_snapshot(call_sid, state.rev, body)]
        journal.write_direct(self.store, entries)
