"""Staff book, move and cancel visits from the dashboard under the AI receptionist's rules.

Every change goes through the schedule's own booking path (`scheduling.schedule.book`: one conditional
UPDATE of the units, the patient's overlap check), so a staff booking and a caller's racing for one time cannot
both win. Before it, the rules the receptionist keeps: the visit type exists and its provider sees it, it fits
the patient (new or returning, age), its whole length is free with that provider (no other visit of theirs
covers it), it lies within the location's opening hours on a working day (not a holiday), and it has not
begun. A refusal is a `Refused` with a sentence for staff; nothing is written then. Each change is one
transaction; the new visit says it was booked by staff (`booked_via = "staff"`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from receptionist.clock import utc
from receptionist.config.practice import Location, Practice
from receptionist.config.visit_types import VisitType
from receptionist.conversation.policy.visits import age_on
from receptionist.scheduling.schedule import Opening, Overlaps, SlotTaken, book, opening_at, release
from receptionist.store import Appointment, Patient, Slot, Store, VisitLine
from receptionist.wording.written import written_day, written_time

STAFF = "staff"


class Refused(Exception):
    """A booking, move or cancellation the rules do not allow; `str()` is the sentence for staff."""


def book_visit(
    store: Store,
    practice: Practice,
    *,
    patient_id: str,
    visit_type: str,
    unit_id: int,
    now: dt.datetime,
) -> Appointment:
    """Book `visit_type` for the patient from unit `unit_id` on, or raise `Refused`."""
    visit = _visit_type(practice, visit_type)
    with store.session() as s:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise Refused("Choose a patient: no patient has that id.")
        if patient.status == "deceased":
            raise Refused("This patient is recorded as deceased: no visit can be booked for them.")
        location, opening = _opening(s, practice, visit, unit_id, now)
        _fits(s, patient, visit, location.local_time(now).date())
        return _book(s, location, opening, patient_id, visit)


def move_visit(
    store: Store, practice: Practice, *, appointment_id: int, unit_id: int, now: dt.datetime
) -> Appointment:
    """Move a booked visit (same type and length) to the time starting at unit `unit_id`, or raise `Refused`.
    The old time is given back in the same transaction."""
    with store.session() as s:
        old = _booked(s, appointment_id)
        visit = practice.visit_type(old.kind)
        if visit is None:
            raise Refused(
                f"This visit's type ({old.kind}) is not one of the practice's visit types: "
                "cancel it and book a new visit instead."
            )
        location, opening = _opening(s, practice, visit, unit_id, now, moving=old)
        release(s, old)
        old.status = "cancelled"
        s.flush()
        return _book(s, location, opening, old.patient_id, visit, replacing=old.id)


def cancel_visit(store: Store, *, appointment_id: int, now: dt.datetime) -> Appointment:
    """Cancel a booked visit that has not begun and give its time back, or raise `Refused`."""
    with store.session() as s:
        appointment = _booked(s, appointment_id)
        if utc(appointment.start) <= utc(now):
            raise Refused("This visit has already begun: it can no longer be cancelled here.")
        release(s, appointment)
        appointment.status = "cancelled"
        return appointment


def _visit_type(practice: Practice, type_id: str) -> VisitType:
    visit = practice.visit_type(type_id)
    if visit is None:
        raise Refused("Choose a visit type of the practice.")
    return visit


def _booked(s: Session, appointment_id: int) -> Appointment:
    appointment = s.get(Appointment, appointment_id)
    if appointment is None:
        raise Refused("There is no such appointment.")
    if appointment.status != "booked":
        raise Refused("This appointment was already cancelled.")
    return appointment


def _opening(
    s: Session,
    practice: Practice,
    visit: VisitType,
    unit_id: int,
    now: dt.datetime,
    *,
    moving: Appointment | None = None,
) -> tuple[Location, Opening]:
    unit = s.get(Slot, unit_id)
    location = next((loc for loc in practice.locations if unit and loc.id == unit.location_id), None)
    if unit is None or location is None:
        raise Refused("That time is not in the schedule.")
    zone = location.zone
    start = utc(unit.start).astimezone(zone)
    end = start + dt.timedelta(minutes=visit.minutes)
    if unit.provider not in visit.providers:
        raise Refused(
            f"{unit.provider} does not see {visit.name} visits: choose one of {', '.join(visit.providers)}."
        )
    day = start.date()
    closed = location.holidays.name_of(day)
    if closed is not None:
        reason = "" if closed == "closed" else f" ({closed})"
        raise Refused(
            f"{location.name} is closed on {written_day(day)}{reason}: no visits can be booked then."
        )
    span = location.hours.by_weekday.get(day.weekday())
    if span is None or start.time() < span[0] or end > dt.datetime.combine(day, span[1], zone):
        raise Refused(
            f"A {visit.minutes}-minute {visit.name} at {written_time(start, zone)} is outside "
            f"{location.name}'s opening hours."
        )
    if start <= now:
        raise Refused(f"{written_time(start, zone)} has passed: choose a later time.")
    if moving is not None:
        release(s, moving)  # the visit being moved may overlap its own new time
        s.flush()
    opening = opening_at(s, unit_id, visit, location)
    busy = _provider_busy(s, location, unit.provider, start, end, ignore=moving.id if moving else None)
    if opening is None or busy is not None:
        raise Refused(
            f"{unit.provider} is not free for {visit.minutes} minutes from {written_time(start, zone)}: "
            "another visit is booked then. Choose another time."
        )
    return location, opening


def _provider_busy(
    s: Session, location: Location, provider: str, start: dt.datetime, end: dt.datetime, *, ignore: int | None
) -> Appointment | None:
    """A booked visit of the provider that covers part of [start, end) without holding its units (pushed by the
    practice-management system)."""
    for a in s.scalars(
        select(Appointment).where(
            Appointment.location_id == location.id,
            Appointment.provider == provider,
            Appointment.status == "booked",
            Appointment.start < utc(end),
            Appointment.start >= utc(start) - dt.timedelta(hours=8),
        )
    ):
        if a.id != ignore and utc(a.start) + dt.timedelta(minutes=a.minutes or 30) > start:
            return a
    return None


def _fits(s: Session, patient: Patient, visit: VisitType, today: dt.date) -> None:
    if visit.urgent:
        return
    visits = s.scalar(select(func.count()).select_from(VisitLine).where(VisitLine.patient_id == patient.id))
    new_patient = not visits
    age = age_on(patient.date_of_birth, today)
    if visit.fits(new_patient=new_patient, age=age):
        return
    if visit.patients == "new" and not new_patient:
        raise Refused(f"A {visit.name} is for new patients: this patient has visits on file.")
    if visit.patients == "returning" and new_patient:
        raise Refused(f"A {visit.name} is for returning patients: this patient has no visits on file yet.")
    raise Refused(f"A {visit.name} is not for a patient of {age}.")


def _book(
    s: Session,
    location: Location,
    opening: Opening,
    patient_id: str,
    visit: VisitType,
    *,
    replacing: int | None = None,
) -> Appointment:
    zone = location.zone
    try:
        with s.begin_nested():
            return book(
                s, opening, patient_id, visit.id, location_id=location.id, via=STAFF, replacing=replacing
            )
    except Overlaps:
        raise Refused(
            f"This patient already has a visit at {written_time(opening.start, zone)}: "
            "move or cancel that one first."
        ) from None
    except SlotTaken:
        raise Refused(
            f"{opening.provider} was booked at {written_time(opening.start, zone)} a moment ago: "
            "choose another time."
        ) from None
