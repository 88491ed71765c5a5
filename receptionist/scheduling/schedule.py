"""The schedule of open slots per location and provider, and booking into it without double-booking."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from receptionist.config.practice import Location, Practice
from receptionist.store import Appointment, Slot, Store

SLOT_MINUTES = 60


def provider_kind(provider: str) -> str:
    """Hygienists take cleanings; everyone else takes exams (fillings, consultations, aches)."""
    return "cleaning" if "hygien" in provider.lower() else "exam"


def slot_kind_for(kind: str) -> str:
    return "cleaning" if kind == "cleaning" else "exam"


def ensure_schedule(store: Store, practice: Practice, start: dt.date, weeks: int = 8) -> int:
    """Create the slots of every location's opening hours for `weeks` from `start` (idempotent)."""
    rows = []
    for location in practice.locations:
        zone = location.zone
        for offset in range(weeks * 7):
            day = start + dt.timedelta(days=offset)
            span = location.hours.by_weekday.get(day.weekday())
            if span is None:
                continue
            t = dt.datetime.combine(day, span[0], zone)
            end = dt.datetime.combine(day, span[1], zone)
            while t + dt.timedelta(minutes=SLOT_MINUTES) <= end:
                for provider in location.providers:
                    rows.append(
                        {
                            "location_id": location.id,
                            "provider": provider,
                            "start": t.astimezone(dt.UTC),
                            "minutes": SLOT_MINUTES,
                            "kind": provider_kind(provider),
                        }
                    )
                t += dt.timedelta(minutes=SLOT_MINUTES)
    if not rows:
        return 0
    insert = sqlite_insert if store.dialect == "sqlite" else pg_insert
    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(Slot))
        session.execute(
            insert(Slot).on_conflict_do_nothing(index_elements=["location_id", "provider", "start"]), rows
        )
        return int(session.scalar(select(func.count()).select_from(Slot)) - before)


def fill_demo_bookings(
    store: Store, location: Location, patient_ids: list[str], share: float = 0.6, seed: int = 7
) -> int:
    """Make the demo schedule look lived-in: book a share of future slots for random demo patients."""
    rng = random.Random(seed)
    count = 0
    with store.session() as session:
        slots = session.scalars(
            select(Slot)
            .where(Slot.location_id == location.id, Slot.appointment_id.is_(None))
            .order_by(Slot.start)
        ).all()
        for slot in slots:
            if rng.random() < share and patient_ids:
                book(session, slot, rng.choice(patient_ids), slot.kind, via="pms")
                count += 1
    return count


class SlotTaken(Exception):
    """Someone else booked the slot first."""


def book(
    session: Session, slot: Slot, patient_id: str, kind: str, *, via: str = "ai", call_sid: str | None = None
) -> Appointment:
    """Book one slot; the conditional update makes a race lose cleanly instead of double-booking."""
    appointment = Appointment(
        patient_id=patient_id,
        location_id=slot.location_id,
        provider=slot.provider,
        start=slot.start,
        minutes=slot.minutes,
        kind=kind,
        status="booked",
        slot_id=slot.id,
        booked_via=via,
        call_sid=call_sid,
    )
    session.add(appointment)
    session.flush()
    taken = session.execute(
        update(Slot)
        .where(and_(Slot.id == slot.id, Slot.appointment_id.is_(None)))
        .values(appointment_id=appointment.id)
    )
    if taken.rowcount != 1:
        raise SlotTaken(slot.id)
    return appointment


def release(session: Session, appointment: Appointment) -> None:
    """Free the appointment's slot (cancel or move)."""
    if appointment.slot_id is not None:
        session.execute(
            update(Slot)
            .where(Slot.id == appointment.slot_id, Slot.appointment_id == appointment.id)
            .values(appointment_id=None)
        )
