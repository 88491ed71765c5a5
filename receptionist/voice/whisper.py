"""What a staff member hears before a transferred caller is put through: who, and why they matter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from receptionist.store import Patient, PatientScore, ScoreRun, Store, VisitLine
from receptionist.wording import last_visit_text

SPOKEN_DEPARTMENTS = {
    "hygiene": "cleanings",
    "restorative": "restorative work",
    "cosmetic": "cosmetic work",
    "orthodontics": "orthodontics",
    "specialty": "specialist care",
}
PRESS_ONE = "Press 1 to take the call."


def describe_patient(store: Store, patient_id: str, today: dt.date) -> tuple[str, str]:
    """(first name, plain words on why they matter) from the latest published run and their visits."""
    with store.engine.connect() as conn:
        first = conn.scalar(select(Patient.first_name).where(Patient.id == patient_id)) or "A patient"
        score = conn.execute(
            select(PatientScore.years_active, PatientScore.last_visit)
            .join(ScoreRun, ScoreRun.id == PatientScore.run_id)
            .where(PatientScore.patient_id == patient_id)
            .order_by(ScoreRun.created_at.desc())
            .limit(1)
        ).first()
        departments = conn.scalars(
            select(VisitLine.department)
            .where(VisitLine.patient_id == patient_id)
            .group_by(VisitLine.department)
            .order_by(func.count().desc(), VisitLine.department)
            .limit(2)
        ).all()
    parts = []
    if score is not None and score.years_active:
        years = int(score.years_active)
        parts.append(
            f"a patient for {years} years"
            if years >= 2
            else "a patient for about a year"
            if years == 1
            else "a newer patient"
        )
    if departments:
        spoken = [SPOKEN_DEPARTMENTS.get(d, d) for d in departments]
        parts.append("usually " + " and ".join(spoken))
    if score is not None and score.last_visit is not None:
        parts.append(last_visit_text((today - score.last_visit).days))
    return first, ", ".join(parts)


def whisper_text(store: Store, patient_id: str | None, reason: str, today: dt.date) -> str:
    if patient_id is None:
        return f"A caller who is not in our records would like to talk to someone. {PRESS_ONE}"
    first, why = describe_patient(store, patient_id, today)
    who = f"{first}, {why}," if why else first
    if reason == "high_value":
        return f"{who} is calling. One of our valued patients. {PRESS_ONE}"
    if reason == "repeat_caller":
        return f"{who} has called several times today. {PRESS_ONE}"
    return f"{who} asked to talk to someone. {PRESS_ONE}"
