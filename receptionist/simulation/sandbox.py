"""The sandbox practice behind the dashboard's Try it: the practice's own settings and opening hours, its own
store and Redis database, and two made-up patients. Nothing a Try it caller says (stop calling me, cancel my
appointment, book me in) reaches a real patient, a real slot or the real statistics.

`seed` is idempotent and runs at every Try it call: the two patients are put back as they were (consents given,
not opted out), the schedule rolls forward, their tiers are published to the sandbox's tier cache.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from receptionist.config.practice import Practice
from receptionist.patients.cache import TierCache
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.store import Patient, PatientPhone, PatientScore, ScoreRun, Store, VisitLine

RUN_ID = "tryit-sandbox"
# (id, first name, phone, tier, yearly spend in cents, years a patient)
PATIENTS = (
    ("TRY-HIGH", "Margot", "+12025550198", "high", 280_000, 8),
    ("TRY-LOW", "Leo", "+12025550199", "low", 15_000, 2),
)
UNKNOWN = "+13125550123"


def callers() -> dict[str, str]:
    """Try it's choice of caller -> the number it calls from."""
    return {"high": PATIENTS[0][2], "low": PATIENTS[1][2], "unknown": UNKNOWN}


def seed(store: Store, cache: TierCache, practice: Practice, today: dt.date, now: dt.datetime) -> None:
    ensure_schedule(store, practice, today, weeks=4)
    ids = [p[0] for p in PATIENTS]
    with store.session() as s:
        s.execute(delete(PatientScore).where(PatientScore.run_id == RUN_ID))
        s.execute(delete(ScoreRun).where(ScoreRun.id == RUN_ID))
        s.execute(delete(VisitLine).where(VisitLine.patient_id.in_(ids)))
        s.execute(delete(PatientPhone).where(PatientPhone.patient_id.in_(ids)))
        s.flush()
        for pid, first, _phone, _tier, _cents, _years in PATIENTS:
            patient = s.get(Patient, pid) or Patient(id=pid)
            patient.first_name, patient.last_name, patient.has_contact = first, "Sample", True
            patient.consent_voice = patient.consent_sms = patient.consent_written = True
            patient.opted_out, patient.opted_out_at = False, None
            patient.date_of_birth = dt.date(1980, 5, 17)
            s.add(patient)
        s.flush()
        s.add(
            ScoreRun(
                id=RUN_ID,
                as_of=today,
                patients=len(PATIENTS),
                lapsed=0,
                tiers={p[3]: 1 for p in PATIENTS},
                model={},
                seconds=0.0,
                published_at=now,
            )
        )
        s.flush()
        for pid, _first, phone, tier, cents, years in PATIENTS:
            s.add(PatientPhone(patient_id=pid, phone=phone, position=0))
            for year in range(years):
                for month in (2, 8):
                    day = dt.date(today.year - year - 1, month, 10)
                    s.add(
                        VisitLine(
                            line_key=f"tryit:{pid}:{day.isoformat()}",
                            patient_id=pid,
                            day=day,
                            amount_cents=cents // 2,
                            paid_cents=cents // 2,
                            department="hygiene",
                        )
                    )
            s.add(
                PatientScore(
                    run_id=RUN_ID,
                    patient_id=pid,
                    tier=tier,
                    plv=cents / 100 * years,
                    annual_value=cents / 100,
                    years_active=float(years),
                    departments=1,
                    p_alive=0.9,
                    expected_visits_12m=2.0,
                    expected_value_12m=cents / 100,
                    lapsed=False,
                    reactivation_score=0.0,
                    reasons="",
                    last_visit=dt.date(today.year - 1, 8, 10),
                )
            )
    epoch = cache.epoch()
    cache.publish(RUN_ID, [(p[2], p[3], p[0], p[1]) for p in PATIENTS], complete_at=epoch)
