"""The schedule: 30-minute units per location and provider, visits that take several of them, and booking
into it without double-booking.

A visit of a type (`config/visit_types.py`) takes `minutes / 30` consecutive free units of one of the type's
providers. Booking marks every unit with the appointment in one conditional UPDATE (`appointment_id IS
NULL`): two callers racing for the same time cannot both win, and a visit is booked whole or not at all. A
patient is never booked into two visits that overlap. Closed days (holidays) get no units and offer none.

`find_openings` is pure over the rows it reads: it walks the open units in time order, keeps runs long enough
for the visit type, and applies the caller's constraints (`Wanted`): days, weekdays, time windows and what
they excluded. Cost: one indexed range read of at most `MAX_UNITS` rows per search.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from receptionist.config.practice import Location, Practice
from receptionist.config.visit_types import SLOT_MINUTES, VisitType
from receptionist.store import Appointment, Slot, Store

UNIT = dt.timedelta(minutes=SLOT_MINUTES)
MAX_UNITS = 4000  # a search reads at most this many open units (weeks of a busy practice)
SEARCH_DAYS = 42  # how far ahead a search looks


def provider_kind(provider: str) -> str:
    """The unit's kind column: hygienists' units and everyone else's (kept for reporting)."""
    return "cleaning" if "hygien" in provider.lower() else "exam"


@dataclass(frozen=True)
class Wanted:
    """What a caller said they want, as constraints on a visit's start (local times of the location)."""

    after: dt.datetime | None = None  # no earlier than this instant
    days: frozenset[dt.date] = frozenset()  # only these days (empty: any)
    weekdays: frozenset[int] = frozenset()  # only these weekdays, 0 = Monday (empty: any)
    excluded_days: frozenset[dt.date] = frozenset()
    excluded_weekdays: frozenset[int] = frozenset()
    earliest_minute: int | None = None  # start at or after this minute of the day
    latest_minute: int | None = None  # start before this minute of the day
    excluded_windows: tuple[tuple[int, int], ...] = ()  # (from, to) minutes of the day the caller can't do
    providers: tuple[str, ...] = ()  # only these providers (empty: the type's)
    excluded_providers: tuple[str, ...] = ()
    near_minute: int | None = None  # a time asked for: on each day, the closest start first

    def accepts(self, local: dt.datetime, provider: str) -> bool:
        day, minute = local.date(), local.hour * 60 + local.minute
        if self.days and day not in self.days or day in self.excluded_days:
            return False
        if self.weekdays and day.weekday() not in self.weekdays or day.weekday() in self.excluded_weekdays:
            return False
        if self.earliest_minute is not None and minute < self.earliest_minute:
            return False
        if self.latest_minute is not None and minute >= self.latest_minute:
            return False
        if any(lo <= minute < hi for lo, hi in self.excluded_windows):
            return False
        if self.providers and provider not in self.providers or provider in self.excluded_providers:
            return False
        return True


@dataclass(frozen=True)
class Opening:
    """A time a visit of `minutes` can start with `provider`: its first unit's id names it."""

    unit_id: int
    start: dt.datetime  # aware, the location's time
    provider: str
    minutes: int
    unit_ids: tuple[int, ...] = field(default=(), compare=False)


class SlotTaken(Exception):
    """Someone else booked (part of) the time first."""


class Overlaps(Exception):
    """The patient already has a visit at that time."""


def ensure_schedule(store: Store, practice: Practice, start: dt.date, weeks: int = 8) -> int:
    """Create the 30-minute units of every location's opening hours for `weeks` from `start`, skipping closed
    days (idempotent: existing units stay as they are)."""
    rows = []
    for location in practice.locations:
        zone = location.zone
        for offset in range(weeks * 7):
            day = start + dt.timedelta(days=offset)
            span = location.hours.by_weekday.get(day.weekday())
            if span is None or location.holidays.is_closed(day):
                continue
            t = dt.datetime.combine(day, span[0], zone)
            end = dt.datetime.combine(day, span[1], zone)
            while t + UNIT <= end:
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
                t += UNIT
    if not rows:
        return 0
    insert = sqlite_insert if store.dialect == "sqlite" else pg_insert
    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(Slot)) or 0
        session.execute(
            insert(Slot).on_conflict_do_nothing(index_elements=["location_id", "provider", "start"]), rows
        )
        return int((session.scalar(select(func.count()).select_from(Slot)) or 0) - before)


def find_openings(
    store: Store,
    location: Location,
    visit: VisitType,
    now: dt.datetime,
    wanted: Wanted = Wanted(),
    *,
    limit: int = 3,
    lead: dt.timedelta = dt.timedelta(minutes=30),
    distinct_starts: bool = True,
) -> list[Opening]:
    """The earliest openings for `visit` that meet `wanted`, soonest first (one per start time unless
    `distinct_starts` is False). Never sooner than `lead` from `now`, never on a closed day."""
    earliest = max(wanted.after or now, now + lead).astimezone(dt.UTC)
    providers = [p for p in visit.providers if p in location.providers]
    if wanted.providers:
        providers = [p for p in providers if p in wanted.providers]
    providers = [p for p in providers if p not in wanted.excluded_providers]
    if not providers:
        return []
    until = earliest + dt.timedelta(days=SEARCH_DAYS)
    if wanted.days:
        latest_day = max(wanted.days)
        until = min(until, dt.datetime.combine(latest_day + dt.timedelta(days=1), dt.time(0), location.zone))
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(Slot.id, Slot.provider, Slot.start)
            .where(
                Slot.location_id == location.id,
                Slot.provider.in_(providers),
                Slot.appointment_id.is_(None),
                Slot.start >= earliest,
                Slot.start < until.astimezone(dt.UTC),
            )
            .order_by(Slot.start, Slot.provider)
            .limit(MAX_UNITS)
        ).all()
    return pick_openings(
        [(sid, provider, _aware(start)) for sid, provider, start in rows],
        location,
        visit,
        wanted,
        limit=limit,
        distinct_starts=distinct_starts,
    )


def pick_openings(
    units: Sequence[tuple[int, str, dt.datetime]],
    location: Location,
    visit: VisitType,
    wanted: Wanted,
    *,
    limit: int,
    distinct_starts: bool = True,
) -> list[Opening]:
    """Runs of `visit.units` consecutive free units of one provider, in time order, that `wanted` accepts."""
    by_provider: dict[str, dict[dt.datetime, int]] = {}
    for sid, provider, start in units:
        by_provider.setdefault(provider, {})[start] = sid
    order = {p: i for i, p in enumerate(visit.providers)}
    out: list[Opening] = []
    seen: set[dt.datetime] = set()
    wanted_all = limit if wanted.near_minute is None else 10_000
    for sid, provider, start in sorted(units, key=lambda u: (u[2], order.get(u[1], 99), u[1])):
        local = start.astimezone(location.zone)
        if location.holidays.is_closed(local.date()) or (distinct_starts and local in seen):
            continue
        if not wanted.accepts(local, provider):
            continue
        free = by_provider[provider]
        run = [free.get(start + UNIT * k) for k in range(visit.units)]
        if any(u is None for u in run):
            continue
        seen.add(local)
        out.append(Opening(sid, local, provider, visit.minutes, tuple(u for u in run if u is not None)))
        if len(out) >= wanted_all:
            break
    if wanted.near_minute is not None:
        near = wanted.near_minute
        out.sort(key=lambda o: (o.start.date(), abs(o.start.hour * 60 + o.start.minute - near), o.start))
    return out[:limit]


def opening_at(session: Session, unit_id: int, visit: VisitType, location: Location) -> Opening | None:
    """The opening for `visit` that starts at unit `unit_id`, if its run is (still) free."""
    first = session.get(Slot, unit_id)
    if first is None or first.location_id != location.id or first.provider not in visit.providers:
        return None
    start = _aware(first.start)
    rows = session.execute(
        select(Slot.id, Slot.start, Slot.appointment_id).where(
            Slot.location_id == location.id,
            Slot.provider == first.provider,
            Slot.start >= start,
            Slot.start < start + UNIT * visit.units,
        )
    ).all()
    free = {_aware(s): sid for sid, s, taken in rows if taken is None}
    run = [free.get(start + UNIT * k) for k in range(visit.units)]
    if any(u is None for u in run):
        return None
    return Opening(
        unit_id,
        start.astimezone(location.zone),
        first.provider,
        visit.minutes,
        tuple(u for u in run if u is not None),
    )


def overlapping(
    session: Session, patient_id: str, start: dt.datetime, minutes: int, *, ignore: int | None = None
) -> Appointment | None:
    """The patient's booked visit that overlaps [start, start + minutes), if any."""
    end = start + dt.timedelta(minutes=minutes)
    for appt in session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.status == "booked",
            Appointment.start < end.astimezone(dt.UTC),
            Appointment.start >= (start - dt.timedelta(hours=8)).astimezone(dt.UTC),
        )
    ):
        if appt.id == ignore:
            continue
        if _aware(appt.start) + dt.timedelta(minutes=appt.minutes or SLOT_MINUTES) > start:
            return appt
    return None


def book(
    session: Session,
    opening: Opening,
    patient_id: str,
    kind: str,
    *,
    location_id: str,
    via: str = "ai",
    call_sid: str | None = None,
    replacing: int | None = None,
) -> Appointment:
    """Book the whole opening for the patient, or raise `SlotTaken` (someone was faster) or `Overlaps` (the
    patient has a visit then: `replacing` names one being moved, which does not count)."""
    if overlapping(session, patient_id, opening.start, opening.minutes, ignore=replacing) is not None:
        raise Overlaps(opening.start)
    units = opening.unit_ids or (opening.unit_id,)
    appointment = Appointment(
        patient_id=patient_id,
        location_id=location_id,
        provider=opening.provider,
        start=opening.start.astimezone(dt.UTC),
        minutes=opening.minutes,
        kind=kind,
        status="booked",
        slot_id=opening.unit_id,
        booked_via=via,
        call_sid=call_sid,
    )
    session.add(appointment)
    session.flush()
    taken = session.execute(
        update(Slot)
        .where(and_(Slot.id.in_(units), Slot.appointment_id.is_(None)))
        .values(appointment_id=appointment.id)
    )
    if taken.rowcount != len(units):  # type: ignore[attr-defined]  # a CursorResult
        raise SlotTaken(opening.unit_id)
    return appointment


def release(session: Session, appointment: Appointment) -> None:
    """Free every unit the appointment holds (cancel or move)."""
    session.execute(update(Slot).where(Slot.appointment_id == appointment.id).values(appointment_id=None))


def hold(session: Session, appointment: Appointment) -> int:
    """An appointment made elsewhere (the PMS, online booking) takes the free units it covers; returns how
    many. Units someone else holds stay theirs."""
    start = _aware(appointment.start)
    end = start + dt.timedelta(minutes=appointment.minutes or SLOT_MINUTES)
    release(session, appointment)
    appointment.slot_id = None
    if appointment.status != "booked":
        return 0
    units = session.scalars(
        select(Slot)
        .where(
            Slot.location_id == appointment.location_id,
            Slot.start >= start.astimezone(dt.UTC),
            Slot.start < end.astimezone(dt.UTC),
            Slot.appointment_id.is_(None),
            *([Slot.provider == appointment.provider] if appointment.provider else []),
        )
        .order_by(Slot.start)
    ).all()
    for unit in units:
        unit.appointment_id = appointment.id
    if units:
        appointment.slot_id = units[0].id
    return len(units)


def fill_demo_bookings(
    store: Store,
    practice: Practice,
    patient_ids: list[str],
    share: float = 0.6,
    seed: int = 7,
) -> int:
    """Make the demo schedule look lived-in: book about `share` of the main location's time for random demo
    patients, in visits of the practice's types."""
    rng = random.Random(seed)
    location = practice.main
    count = 0
    with store.session() as session:
        units = session.execute(
            select(Slot.id, Slot.provider, Slot.start)
            .where(Slot.location_id == location.id, Slot.appointment_id.is_(None))
            .order_by(Slot.start, Slot.provider)
        ).all()
        free = {(p, _aware(s)): sid for sid, p, s in units}
        types = [v for v in practice.visit_types if not v.urgent] or list(practice.visit_types)
        for sid, provider, start in units:
            start = _aware(start)
            if (provider, start) not in free or rng.random() >= share or not patient_ids:
                continue
            fitting = [v for v in types if provider in v.providers]
            if not fitting:
                continue
            visit = rng.choice(fitting)
            run = [free.get((provider, start + UNIT * k)) for k in range(visit.units)]
            if any(u is None for u in run):
                continue
            opening = Opening(
                sid, start.astimezone(location.zone), provider, visit.minutes, tuple(u for u in run if u)
            )
            try:
                with session.begin_nested():
                    book(
                        session,
                        opening,
                        rng.choice(patient_ids),
                        visit.id,
                        location_id=location.id,
                        via="pms",
                    )
            except (SlotTaken, Overlaps):
                continue
            for k in range(visit.units):
                free.pop((provider, start + UNIT * k), None)
            count += 1
    return count


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
