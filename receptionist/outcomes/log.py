"""Writing outcome events once, and the live Redis counters that follow them.

`OutcomeLog.record(events)` inserts the events whose key is new (INSERT ... ON CONFLICT DO NOTHING RETURNING
key, so two writers racing for one key cannot both win) and only then adds the new ones to their month's
counters in one pipeline. The store is the truth: if Redis is unreachable, or the process dies between the
commit and the counters, the counters fall behind until `receptionist stats rebuild` recomputes them.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import redis as redis_lib
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from receptionist.outcomes.events import Event, field
from receptionist.store import OutcomeEvent, Store, keys

log = logging.getLogger(__name__)
CHUNK = 2000
# (month, tier, channel, kind) -> (events, cents)
Counts = dict[tuple[str, str, str, str], tuple[int, int]]


def _insert(store: Store):
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    return (
        dialect.insert(OutcomeEvent)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutcomeEvent.key)
    )


class OutcomeLog:
    def __init__(self, store: Store, redis: redis_lib.Redis | None) -> None:
        self.store = store
        self.redis = redis
        # called with the events that were new, after they are written (the integrations' outgoing webhooks)
        self.listeners: list[Any] = []

    def record(self, events: Iterable[Event]) -> int:
        """Write each event whose key is new; count the new ones live. Returns how many were new."""
        unique = list({e.key: e for e in events}.values())
        if not unique:
            return 0
        new: list[Event] = []
        by_key = {e.key: e for e in unique}
        stmt = _insert(self.store)
        with self.store.session() as s:
            for i in range(0, len(unique), CHUNK):
                rows = [e.row() for e in unique[i : i + CHUNK]]
                new.extend(by_key[k] for k in s.execute(stmt, rows).scalars())
        if new:
            self.count(new)
            for listener in self.listeners:
                listener(new)
        return len(new)

    def count(self, events: Sequence[Event]) -> None:
        if self.redis is None:
            return
        deltas: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for e in events:
            d = deltas[(e.month, field(e.tier or "none", e.channel, e.kind))]
            d[0] += 1
            d[1] += int(e.amount_cents)
        try:
            pipe = self.redis.pipeline(transaction=False)
            for (month, f), (n, c) in deltas.items():
                pipe.hincrby(keys.outcome_counters(month), f, n)
                if c:
                    pipe.hincrby(keys.outcome_counters(month), f + "|c", c)
            pipe.sadd(keys.outcome_months(), *{m for m, _ in deltas})
            pipe.execute()
        except (redis_lib.RedisError, OSError):
            log.warning("outcome counters not updated (Redis unavailable); run `receptionist stats rebuild`")


def live_counts(redis: redis_lib.Redis, months: Sequence[str] | None = None) -> Counts:
    """The live counters (all months, or these), as the dashboard reads them: one round trip per call."""
    if months is None:
        months = sorted(m.decode() for m in redis.smembers(keys.outcome_months()))
    pipe = redis.pipeline(transaction=False)
    for m in months:
        pipe.hgetall(keys.outcome_counters(m))
    out: Counts = {}
    for m, h in zip(months, pipe.execute(), strict=True):
        for raw, value in h.items():
            name = raw.decode()
            if name.endswith("|c"):
                continue
            tier, channel, kind = name.split("|", 2)
            out[(m, tier, channel, kind)] = (int(value), int(h.get(raw + b"|c", 0)))
    return out


def store_counts(
    store: Store, months: Sequence[str] | None = None, kinds: Sequence[str] | None = None
) -> Counts:
    """The same counts computed from the durable log (GROUP BY): what the live counters must equal."""
    q = select(
        OutcomeEvent.month,
        OutcomeEvent.tier,
        OutcomeEvent.channel,
        OutcomeEvent.kind,
        func.count(),
        func.coalesce(func.sum(OutcomeEvent.amount_cents), 0),
    ).group_by(OutcomeEvent.month, OutcomeEvent.tier, OutcomeEvent.channel, OutcomeEvent.kind)
    if months is not None:
        q = q.where(OutcomeEvent.month.in_(list(months)))
    if kinds is not None:
        q = q.where(OutcomeEvent.kind.in_(list(kinds)))
    with store.sessions() as s:
        return {(m, t, ch, k): (int(n), int(c)) for m, t, ch, k, n, c in s.execute(q)}


def rebuild(store: Store, redis: redis_lib.Redis) -> Counts:
    """Recompute every counter from the log and swap them in at once (the old months' hashes go)."""
    counts = store_counts(store)
    token = uuid.uuid4().hex[:8]
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    for (m, t, ch, k), (n, c) in counts.items():
        f = field(t, ch, k)
        by_month[m][f] = n
        if c:
            by_month[m][f + "|c"] = c
    pipe = redis.pipeline(transaction=False)
    for m, h in by_month.items():
        pipe.delete(keys.outcome_building(token, m))
        pipe.hset(keys.outcome_building(token, m), mapping=h)
    pipe.execute()
    old = [m.decode() for m in redis.smembers(keys.outcome_months())]
    swap = redis.pipeline(transaction=True)
    for m in old:
        swap.delete(keys.outcome_counters(m))
    swap.delete(keys.outcome_months())
    for m in by_month:
        swap.rename(keys.outcome_building(token, m), keys.outcome_counters(m))
    if by_month:
        swap.sadd(keys.outcome_months(), *by_month)
    swap.execute()
    return counts
