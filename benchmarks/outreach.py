"""Campaign benchmark: planning over N scored patients, and dispatching M attempts with W RQ workers.

    python outreach.py PATIENTS ATTEMPTS WORKERS RATE
Prints JSON. Planning is compared with its floor, reading the same candidate rows with one plain query.
Dispatch runs W `receptionist worker --burst` processes against the local Twilio stand-in (recording only),
at a configured calling rate of RATE calls a second, and measures the rate the stand-in saw between its
first and last call, and how many patients were called more than once (must be 0).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
PRACTICE = """
[practice]
name = "Benchmark Dental"
timezone = "America/New_York"

[[locations]]
id = "main"
name = "Benchmark Dental"
phone = "+12025550100"
timezone = "America/New_York"
staff_numbers = ["+12025550111"]

[locations.hours]
mon = "08:00-17:00"

[outreach]
staff_call_list_size = 20
ai_contact_list_size = {attempts}
holdout_share = 0.0
calls_per_second = {rate}
max_concurrent_calls = 1000000
calling_hours = "00:00-23:59"
cooldown_days = 30
"""


def populate(store, n: int) -> None:
    """N lapsed, scored, consenting patients with numbers in Washington (one run, bulk inserts)."""
    from receptionist.store import Patient, PatientPhone, PatientScore, ScoreRun

    now = dt.datetime.now(dt.UTC)
    with store.session() as s:
        s.add(
            ScoreRun(
                id="R1",
                as_of=now.date(),
                patients=n,
                lapsed=n,
                tiers={},
                model={},
                seconds=0.0,
                created_at=now,
                published_at=now,
            )
        )
    patients, phones, scores = [], [], []
    for i in range(n):
        pid = f"B{i:07d}"
        patients.append(
            {
                "id": pid,
                "first_name": "Pat",
                "last_name": "Bench",
                "email": f"{pid}@example.com",
                "zip": "20001",
                "has_contact": True,
                "consent_voice": True,
                "consent_sms": True,
                "consent_written": True,
                "opted_out": False,
            }
        )
        phones.append({"patient_id": pid, "phone": f"+1202{2000000 + i:07d}", "position": 0})
        tier = "high" if i % 10 == 0 else "mid" if i % 3 == 0 else "low"
        scores.append(
            {
                "run_id": "R1",
                "patient_id": pid,
                "tier": tier,
                "plv": 1000.0,
                "annual_value": 300.0,
                "years_active": 4.0,
                "departments": 2,
                "p_alive": 0.3,
                "expected_visits_12m": 0.5,
                "expected_value_12m": 100.0,
                "lapsed": True,
                "reactivation_score": float(n - i),
                "reasons": "4 years, $300/yr, 2 departments, last visit 20 months ago, lapsed",
                "last_visit": (now - dt.timedelta(days=600)).date(),
            }
        )
    with store.engine.begin() as conn:
        for table, rows in (
            (Patient.__table__, patients),
            (PatientPhone.__table__, phones),
            (PatientScore.__table__, scores),
        ):
            for i in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[i : i + 20000])


def main() -> None:
    n_patients, n_attempts, n_workers, rate = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    with tempfile.TemporaryDirectory(prefix="rcp-outreach-") as tmp:
        home = Path(tmp)
        practice_file = home / "practice.toml"
        practice_file.write_text(PRACTICE.format(attempts=n_attempts, rate=rate))
        os.environ.update(
            RECEPTIONIST_HOME=str(home),
            PRACTICE_FILE=str(practice_file),
            PUBLIC_BASE_URL="http://127.0.0.1:9",
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        from receptionist.config.settings import load_settings
        from receptionist.outreach.planner import build_plan
        from receptionist.runtime.services import build_services
        from receptionist.simulation.localtwilio import LocalTwilio
        from receptionist.store import PatientScore

        settings = load_settings()
        services = build_services(settings)
        populate(services.store, n_patients)
        # the floor: the candidate rows, read with one query
        t = time.perf_counter()
        with services.store.engine.connect() as conn:
            rows = conn.execute(
                select(PatientScore.patient_id, PatientScore.tier, PatientScore.reactivation_score)
                .where(PatientScore.run_id == "R1", PatientScore.lapsed.is_(True))
                .order_by(PatientScore.reactivation_score.desc())
            ).all()
        floor_s = time.perf_counter() - t
        assert len(rows) == n_patients
        now = dt.datetime.now(dt.UTC)
        t = time.perf_counter()
        plan = build_plan(services.store, services.practice, now, email_on=False)
        plan_s = time.perf_counter() - t
        twilio = LocalTwilio(settings.account_sid, settings.auth_token, play=False)
        twilio.start()
        services.close()
        env = {**os.environ, "TWILIO_API_BASE_URL": twilio.base_url, "REDIS_URL": services.redis_url}
        services = build_services(load_settings(twilio_api_base_url=twilio.base_url), migrate=False)
        started = services.campaigns.start(plan, now)
        t = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "receptionist.cli", "worker", "--burst"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(n_workers)
        ]
        for w in workers:
            w.wait()
        dispatch_s = time.perf_counter() - t
        times = sorted(twilio.created_at)
        dialled = Counter(c.to for c in twilio.calls.values()) + Counter(
            m.to for m in twilio.messages.values()
        )
        achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        print(
            json.dumps(
                {
                    "patients": n_patients,
                    "plan_s": plan_s,
                    "plan_floor_s": floor_s,
                    "contacts": len(plan.contacts),
                    "enqueued": started.enqueued,
                    "calls": len(twilio.calls),
                    "texts": len(twilio.messages),
                    "dispatch_s": dispatch_s,
                    "configured_rate": rate,
                    "achieved_rate": achieved,
                    "duplicates": sum(v - 1 for v in dialled.values() if v > 1),
                    "workers": n_workers,
                }
            )
        )
        twilio.stop()
        subprocess.run(
            [sys.executable, "-m", "receptionist.cli", "redis", "stop"], env=env, capture_output=True
        )
        services.close()


if __name__ == "__main__":
    main()
