"""Which visit type a caller gets: from what they asked for, whether they are new, how old the patient is,
and whether it is urgent. Types come from the practice file, in its order of preference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from receptionist.config.visit_types import VisitType

DEFAULT_KIND = "checkup"  # a caller who only says "an appointment"


def choose_visit_type(
    types: Sequence[VisitType],
    *,
    kind: str | None,
    new_patient: bool,
    age: int | None,
    urgent: bool = False,
) -> VisitType | None:
    """The first type (in the practice file's order) that serves `kind` and fits the patient; an urgent
    problem gets the urgent type. With nothing for that kind, the patient's type for a checkup."""
    if urgent:
        for v in types:
            if v.urgent and v.fits(new_patient=new_patient, age=age):
                return v
        urgent_any = next((v for v in types if v.urgent), None)
        if urgent_any is not None:
            return urgent_any
    wanted = kind or DEFAULT_KIND
    for candidates in (wanted, DEFAULT_KIND, "exam"):
        for v in types:
            if v.urgent:
                continue
            if (candidates in v.serves or candidates == v.id) and v.fits(new_patient=new_patient, age=age):
                return v
    for v in types:
        if not v.urgent and v.fits(new_patient=new_patient, age=age):
            return v
    return None


def age_on(dob: dt.date | None, today: dt.date) -> int | None:
    """Whole years of age on `today` (None without a date of birth)."""
    if dob is None:
        return None
    years = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    return max(years, 0)


# The understanding's words for visits, as the practice file's kinds (config/visit_types.KINDS).
_KIND_OF = {
    "child_visit": "child",
    "orthodontic": "orthodontics",
    "dentures": "consultation",
    "night_guard": "consultation",
}


def kind_for(heard_kind: str | None) -> str | None:
    """The practice file's kind for a visit kind the understanding heard."""
    if heard_kind is None:
        return None
    return _KIND_OF.get(heard_kind, heard_kind)
