#!/usr/bin/env python3
"""The dashboard benchmark's body: a practice of N scored patients and M outcome events (counted live in Redis),
a campaign's staff call list, callbacks and patients trying to return; then Today and Results rendered by a
signed-in client in process, R times each, timed server-side (no network). The baseline, measured in the same
run, is `GET /api/stats`: the same outcome counters as JSON, with no page around them. Prints JSON.

    dashboard.py PATIENTS EVENTS REPEATS HOME
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from outcome_stats import insert_events  # run as a script: this folder is on the path


def populate(services, n: int, events: int) -> None:
    from receptionist.outcomes.log import rebuild
    from receptionist.store import (
        Callback,
        Campaign,
        OutreachAttempt,
        Patient,
        PatientPhone,
        PatientScore,
        ScoreRun,
    )

    now = services.now()
    rng = np.random.default_rng(7)
    store = services.store
    with store.session() as s:
        s.add(
            ScoreRun(
                id="R1",
                as_of=now.date(),
                patients=n,
                lapsed=n // 3,
                tiers={},
                model={},
                seconds=0.0,
                created_at=now,
                published_at=now,
            )
        )
        s.add(Campaign(id="C1", run_id="R1", status="running", holdout_share=0.1, created_at=now, summary={}))
    patients, phones, scores, attempts = [], [], [], []
    for i in range(n):
        pid = f"B{i:07d}"
        tier = "high" if i % 10 == 0 else "mid" if i % 3 == 0 else "low"
        lapsed = i % 3 == 0
        patients.append(
            {
                "id": pid,
                "first_name": f"Pat{i}",
                "last_name": "Bench",
                "email": f"{pid}@example.com",
                "zip": "20001",
                "has_contact": True,
                "consent_voice": True,
                "consent_sms": True,
                "consent_written": True,
                "opted_out": False,
                "booking_attempt_at": now - dt.timedelta(days=i % 200) if i % 500 == 7 else None,
            }
        )
        phones.append({"patient_id": pid, "phone": f"+1202{2000000 + i:07d}", "position": 0})
        scores.append(
            {
                "run_id": "R1",
                "patient_id": pid,
                "tier": tier,
                "plv": float(rng.integers(200, 9000)),
                "annual_value": float(rng.integers(50, 900)),
                "years_active": 4.0,
                "departments": 2,
                "p_alive": 0.3,
                "expected_visits_12m": 0.5,
                "expected_value_12m": 100.0,
                "lapsed": lapsed,
                "reactivation_score": float(n - i),
                "reasons": "4 years, $300/yr, 2 departments, last visit 20 months ago, lapsed",
                "last_visit": (now - dt.timedelta(days=600)).date(),
            }
        )
        if tier == "high" and lapsed and len(attempts) < 20:
            attempts.append(
                {
                    "id": f"C1:{pid}",
                    "campaign_id": "C1",
                    "patient_id": pid,
                    "tier": "high",
                    "channel": "staff_call",
                    "rank": len(attempts) + 1,
                    "reactivation_score": 1.0,
                    "expected_value": 100.0,
                    "status": "listed",
                    "reason": "",
                    "tries": 0,
                    "cost": 0.0,
                    "notes": ["patient for 4 years", "last visit 20 months ago"],
                }
            )
    with store.engine.begin() as conn:
        for table, rows in (
            (Patient.__table__, patients),
            (PatientPhone.__table__, phones),
            (PatientScore.__table__, scores),
            (OutreachAttempt.__table__, attempts),
        ):
            for i in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[i : i + 20000])
        conn.execute(
            Callback.__table__.insert(),
            [
                {
                    "patient_id": f"B{i * 7:07d}",
                    "phone": f"+1202{2000000 + i * 7:07d}",
                    "call_sid": f"CA{i:032d}",
                    "reason": "wants to reschedule",
                    "priority": ("urgent", "high", "normal")[i % 3],
                    "status": "open",
                    "created_at": now - dt.timedelta(hours=i),
                }
                for i in range(60)
            ],
        )
    insert_events(store, events)  # outcome events, as the stats benchmark makes them
    services.queue_redis.flushdb()
    rebuild(store, services.queue_redis)


def main() -> None:
    n, events, repeats, home = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    from receptionist.config.settings import Settings
    from receptionist.dashboard.accounts import add_user
    from receptionist.runtime.services import build_services
    from receptionist.web import create_app

    services = build_services(Settings(receptionist_home=home))
    fixed = dt.datetime.now(dt.UTC)
    services.now = lambda: fixed
    t0 = time.perf_counter()
    populate(services, n, events)
    load_s = time.perf_counter() - t0
    add_user(services.store, "bench", "benchmark password", role="manager")
    app = create_app(services=services)
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    ).group(1)
    assert (
        client.post(
            "/login", data={"username": "bench", "password": "benchmark password", "csrf_token": token}
        ).status_code
        == 302
    )

    def timed(path: str, must: str) -> list[float]:
        first = client.get(path)
        assert first.status_code == 200 and must in first.get_data(as_text=True), path
        out = []
        for _ in range(repeats):
            s0 = time.perf_counter()
            r = client.get(path)
            r.get_data()
            out.append((time.perf_counter() - s0) * 1000)
            assert r.status_code == 200
        return out

    pages = {
        "today": timed("/", "Pat0 Bench"),
        "results": timed("/results", "Tier mix"),
        "api_stats": timed("/api/stats", "totals"),
    }
    services.close()

    def pct(xs: list[float], q: float) -> float:
        return float(np.percentile(xs, q))

    print(
        json.dumps(
            {
                "patients": n,
                "events": events,
                "repeats": repeats,
                "load_s": load_s,
                **{f"{k}_p50_ms": statistics.median(v) for k, v in pages.items()},
                **{f"{k}_p99_ms": pct(v, 99) for k, v in pages.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
