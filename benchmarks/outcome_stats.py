#!/usr/bin/env python3
"""The stats benchmark's body: N outcome events in a fresh store, then the dashboard's live query and the full
rebuild of the counters from the store, timed. Prints JSON. Usage: outcome_stats.py N HOME"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def insert_events(store, n: int, seed: int = 7) -> None:
    """N synthetic outcome events straight into the store (a realistic mix of kinds, tiers, channels, 24 months)."""
    from receptionist.outcomes.events import CHANNELS, TIERS
    from receptionist.store import OutcomeEvent

    rng = np.random.default_rng(seed)
    kinds = [
        "sent",
        "reached",
        "responded",
        "reactivated",
        "revenue",
        "holdout",
        "holdout_reactivated",
        "answered",
        "voicemail",
        "delivered",
        "booked",
        "call_completed",
        "opted_out",
    ]
    weights = np.array([30, 15, 6, 4, 8, 3, 1, 8, 5, 8, 5, 6, 1], dtype=float)
    k = rng.choice(len(kinds), n, p=weights / weights.sum())
    t = rng.integers(0, len(TIERS), n)
    c = rng.integers(0, len(CHANNELS) - 1, n)
    m = rng.integers(0, 24, n)
    amount = np.where(k == 0, 35, np.where(k == 4, rng.integers(5000, 40000, n), 0))
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    table = OutcomeEvent.__table__
    with store.engine.begin() as conn:
        batch = []
        for i in range(n):
            month = f"{2025 + int(m[i]) // 12}-{int(m[i]) % 12 + 1:02d}"
            batch.append(
                {
                    "key": f"bench:{i}",
                    "kind": kinds[k[i]],
                    "tier": TIERS[t[i]],
                    "channel": CHANNELS[c[i]],
                    "month": month,
                    "at": at,
                    "amount_cents": int(amount[i]),
                    "patient_id": None,
                    "attempt_id": None,
                    "campaign_id": None,
                }
            )
            if len(batch) == 20_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)


def main() -> None:
    n, home = int(sys.argv[1]), Path(sys.argv[2])
    from receptionist.config.settings import Settings
    from receptionist.outcomes.events import Event
    from receptionist.outcomes.log import OutcomeLog, live_counts, rebuild, store_counts
    from receptionist.outcomes.report import build_report
    from receptionist.runtime.services import build_services

    services = build_services(Settings(receptionist_home=home))
    rules = services.practice.outreach
    start = time.perf_counter()
    insert_events(services.store, n)
    load_s = time.perf_counter() - start
    redis = services.queue_redis
    redis.flushdb()

    start = time.perf_counter()
    counts = rebuild(services.store, redis)
    rebuild_s = time.perf_counter() - start

    def timed(fn, reps: int) -> list[float]:
        out = []
        for _ in range(reps):
            s0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - s0) * 1000)
        return out

    live = timed(lambda: build_report(live_counts(redis), rules).as_json(), 50)
    from_store = timed(lambda: build_report(store_counts(services.store), rules).as_json(), 3)
    assert live_counts(redis) == counts == store_counts(services.store)
    # the recording path: events written once through the log (insert, then the live counters)
    log = OutcomeLog(services.store, redis)
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rec = [Event(f"rec:{i}", "sent", "mid", "email", "2026-11", at, 1) for i in range(2000)]
    s0 = time.perf_counter()
    for e in rec:
        log.record([e])
    record_ms = (time.perf_counter() - s0) * 1000 / len(rec)
    services.close()
    print(
        json.dumps(
            {
                "events": n,
                "load_s": load_s,
                "rebuild_s": rebuild_s,
                "live_p50_ms": statistics.median(live),
                "live_max_ms": max(live),
                "store_p50_ms": statistics.median(from_store),
                "record_ms": record_ms,
                "buckets": len(counts),
            }
        )
    )


if __name__ == "__main__":
    main()
