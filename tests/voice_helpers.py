"""Shared set-up for whole-call tests: a small practice with known patients, scored, with a schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from receptionist.patients.cache import TierCache
from receptionist.patients.importer import import_patients, import_visits
from receptionist.patients.scorer import run_scoring
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.web import create_app

NY = ZoneInfo("America/New_York")
MONDAY_10AM = dt.datetime(2026, 11, 30, 10, 0, tzinfo=NY)
SATURDAY_10AM = dt.datetime(2026, 12, 5, 10, 0, tzinfo=NY)
MAIN = "+12025550100"
MARGARET = "+12025550143"  # high tier
TOM = "+12025550177"  # low tier
OPTED = "+12025550188"  # high tier, opted out of outreach
STRANGER = "+13125550123"

PATIENTS = """patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out
P1,Margaret,Ellison,(202) 555-0143,me@example.com,20036,yes,yes,no
P2,Tom,Novak,202-555-0177,,20009,yes,yes,no
P3,Olga,Quinn,202 555 0188,,20009,no,no,yes
"""


def load_small_practice(store, redis_client, tmp_path, now: dt.datetime = MONDAY_10AM) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    lines = ["patient_id,date,amount,department"]
    for year in range(2019, 2026):
        for pid in ("P1", "P3"):
            lines += [
                f"{pid},{year}-02-10,1200,restorative",
                f"{pid},{year}-08-10,160,hygiene",
                f"{pid},{year}-05-03,900,cosmetic",
            ]
    lines += ["P2,2025-05-01,90,hygiene", "P2,2025-11-01,95,hygiene"]
    (tmp_path / "visits.csv").write_text("\n".join(lines) + "\n")
    today = now.date()
    import_patients(store, tmp_path / "patients.csv", progress=False, today=today)
    import_visits(store, tmp_path / "visits.csv", progress=False, today=today)
    from receptionist.config.practice import load_practice

    practice = load_practice()
    run_scoring(store, TierCache(redis_client), practice, today)
    ensure_schedule(store, practice, today, weeks=3)


def simulator_for(services, now: dt.datetime = MONDAY_10AM, auth_token: str | None = None) -> CallSimulator:
    services.now = lambda: now
    app = create_app(services=services)
    base = services.settings.base_url
    return CallSimulator(
        FlaskTransport(app, base_url=base),
        base_url=base,
        auth_token=auth_token or services.settings.auth_token,
    )
