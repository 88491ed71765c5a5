"""The schedule as staff read it: one location's days (or week) per provider, every 30-minute unit open, booked
or held, each booking with who made it and the call that made it; and one patient's appointments.

A unit is *booked* while a booked visit covers it (the visit's own units, and any unit of the same provider
inside a visit the practice-management system pushed without claiming it), *held* while it is taken
(`Slot.appointment_id` set) with no booked visit on it (the visit was cancelled or removed elsewhere and the
time was not given back: the schedule does not offer it), and *open* otherwise. Who booked is
`Appointment.booked_via`: "ai" (the receptionist on a call, its call record in `call_sid`), "text" (the
receptionist over text messages), "online" (online booking through the integration API), "pms" (the
practice-management system), "staff" (the dashboard).

Cost: a view reads two indexed ranges whatever the number of providers or days: the units of the location in
the range and the booked visits that start in it (with their patients' names, joined). `grid` is pure over
those rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from receptionist.clock import utc
from receptionist.config.practice import Location, Practice
from receptionist.config.visit_types import SLOT_MINUTES
from receptionist.store import Appointment, Patient, Slot, Store
from receptionist.wording.written import written_day, written_time

UNIT = dt.timedelta(minutes=SLOT_MINUTES)
LONGEST_VISIT = dt.timedelta(hours=8)  # a visit that starts this long before a range can still reach into it
SOURCES = {
    "ai": "the AI receptionist",
    "text": "the AI receptionist by text",
    "online": "online booking",
    "pms": "the practice system",
    "staff": "staff",
}
PATIENT_LIST_CAP = 50  # appointments listed per patient, each of upcoming and past


def source_label(via: str | None, call_sid: str | None = None) -> str:
    """Who booked, in words: "the AI receptionist on a call", "online booking", "staff"."""
    label = SOURCES.get(via or "", via or "unknown")
    if via == "ai" and call_sid:
        return label + " on a call"
    return label


@dataclass(frozen=True)
class Visit:
    """A booked visit as the schedule shows it (times aware, in the location's zone)."""

    id: int
    patient_id: str
    patient_name: str
    location_id: str
    provider: str
    kind: str
    start: dt.datetime
    minutes: int
    status: str
    via: str
    call_sid: str | None

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(minutes=self.minutes)

    @property
    def source(self) -> str:
        return source_label(self.via, self.call_sid)

    def when(self, zone: dt.tzinfo) -> str:
        return written_time(self.start, zone)


@dataclass(frozen=True)
class Cell:
    """One provider's unit: `state` open | booked | held; `visit` for a booked unit, `first` on its first unit."""

    unit_id: int
    start: dt.datetime
    state: str
    visit: Visit | None = None
    first: bool = False
    past: bool = False


@dataclass(frozen=True)
class Day:
    day: dt.date
    label: str
    closed: str | None  # why the location is closed ("Thanksgiving Day", "closed"), None on a working day
    times: tuple[str, ...]  # the row labels, "8:00 AM"
    rows: tuple[tuple[Cell | None, ...], ...]  # per time, one cell per provider (None: no unit then)
    visits: dict[str, tuple[Visit, ...]] = field(default_factory=dict)  # per provider, in time order
    open_units: dict[str, int] = field(default_factory=dict)  # per provider, bookable units
    held_units: dict[str, int] = field(default_factory=dict)
    regular: bool = True  # a weekday the location opens on (holidays aside); the week view leaves others out


@dataclass(frozen=True)
class Grid:
    location: Location
    providers: tuple[str, ...]
    days: tuple[Day, ...]

    def count(self, state: str) -> int:
        return sum(1 for d in self.days for row in d.rows for c in row if c is not None and c.state == state)


def read_range(
    store: Store, location: Location, first: dt.date, days: int
) -> tuple[list[tuple[int, str, dt.datetime, int | None]], list[Visit]]:
    """The location's units and booked visits from `first` for `days` local days: two queries."""
    start = dt.datetime.combine(first, dt.time(0), location.zone).astimezone(dt.UTC)
    end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(0), location.zone).astimezone(dt.UTC)
    with store.sessions() as s:
        units = [
            (sid, provider, utc(t), taken)
            for sid, provider, t, taken in s.execute(
                select(Slot.id, Slot.provider, Slot.start, Slot.appointment_id)
                .where(Slot.location_id == location.id, Slot.start >= start, Slot.start < end)
                .order_by(Slot.start, Slot.provider)
            )
        ]
        rows = s.execute(
            select(Appointment, Patient.first_name, Patient.last_name)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(
                Appointment.location_id == location.id,
                Appointment.status == "booked",
                Appointment.start >= start - LONGEST_VISIT,
                Appointment.start < end,
            )
            .order_by(Appointment.start, Appointment.id)
        ).all()
        visits = [_visit(a, first_name, last_name, location.zone) for a, first_name, last_name in rows]
    return units, [v for v in visits if v.end > start]


def grid(
    location: Location,
    first: dt.date,
    days: int,
    units: Sequence[tuple[int, str, dt.datetime, int | None]],
    visits: Sequence[Visit],
    now: dt.datetime,
) -> Grid:
    """Lay the rows of `read_range` out per day, time and provider (pure)."""
    zone = location.zone
    providers = tuple(location.providers) + tuple(
        sorted({p for _, p, _, _ in units} - set(location.providers))
    )
    by_id = {v.id: v for v in visits}
    covering: dict[str, list[Visit]] = {}
    for v in visits:
        covering.setdefault(v.provider, []).append(v)
    per_day: dict[dt.date, dict[dt.datetime, dict[str, Cell]]] = {}
    for sid, provider, t, taken in units:
        local = t.astimezone(zone)
        visit = by_id.get(taken) if taken is not None else None
        if visit is None:
            visit = next((v for v in covering.get(provider, ()) if v.start <= local < v.end), None)
        if visit is not None:
            cell = Cell(sid, local, "booked", visit, first=visit.start == local, past=local <= now)
        elif taken is not None:
            cell = Cell(sid, local, "held", past=local <= now)
        else:
            cell = Cell(sid, local, "open", past=local <= now)
        per_day.setdefault(local.date(), {}).setdefault(local, {})[provider] = cell
    out = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        cells = per_day.get(day, {})
        times = sorted(cells)
        rows = tuple(tuple(cells[t].get(p) for p in providers) for t in times)
        day_visits = {
            p: tuple(v for v in covering.get(p, ()) if v.start.astimezone(zone).date() == day)
            for p in providers
        }
        out.append(
            Day(
                day=day,
                label=written_day(day),
                closed=location.holidays.name_of(day) or (None if location.is_working_day(day) else "closed"),
                times=tuple(_clock(t) for t in times),
                rows=rows,
                visits=day_visits,
                open_units={
                    p: sum(1 for r in rows if (c := r[i]) and c.state == "open" and not c.past)
                    for i, p in enumerate(providers)
                },
                held_units={
                    p: sum(1 for r in rows if (c := r[i]) and c.state == "held")
                    for i, p in enumerate(providers)
                },
                regular=day.weekday() in location.hours.by_weekday or bool(rows),
            )
        )
    return Grid(location, providers, tuple(out))


def location_grid(store: Store, location: Location, first: dt.date, days: int, now: dt.datetime) -> Grid:
    units, visits = read_range(store, location, first, days)
    return grid(location, first, days, units, visits, now)


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def visit_by_id(store: Store, practice: Practice, appointment_id: int) -> Visit | None:
    """One appointment (any status) with its patient's name, in its location's zone."""
    with store.sessions() as s:
        row = s.execute(
            select(Appointment, Patient.first_name, Patient.last_name)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Appointment.id == appointment_id)
        ).first()
        if row is None:
            return None
        a, first_name, last_name = row
        return _visit(a, first_name, last_name, zone_of(practice, a.location_id))


@dataclass(frozen=True)
class PatientAppointments:
    upcoming: tuple[Visit, ...]
    past: tuple[Visit, ...]  # earlier visits and cancelled ones, newest first


def patient_appointments(
    store: Store, practice: Practice, patient_id: str, now: dt.datetime
) -> PatientAppointments:
    """The patient's booked visits still to come (soonest first), and the rest (newest first): two reads."""
    moment = utc(now)
    with store.sessions() as s:
        ahead = s.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == "booked",
                Appointment.start >= moment,
            )
            .order_by(Appointment.start)
            .limit(PATIENT_LIST_CAP)
        ).all()
        behind = s.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                (Appointment.start < moment) | (Appointment.status != "booked"),
            )
            .order_by(Appointment.start.desc())
            .limit(PATIENT_LIST_CAP)
        ).all()
        return PatientAppointments(
            tuple(_visit(a, "", "", zone_of(practice, a.location_id)) for a in ahead),
            tuple(_visit(a, "", "", zone_of(practice, a.location_id)) for a in behind),
        )


def zone_of(practice: Practice, location_id: str) -> dt.tzinfo:
    found = next((loc for loc in practice.locations if loc.id == location_id), practice.main)
    return found.zone


def _visit(a: Appointment, first_name: str, last_name: str, zone: dt.tzinfo) -> Visit:
    return Visit(
        id=a.id,
        patient_id=a.patient_id,
        patient_name=" ".join(n for n in (first_name, last_name) if n) or a.patient_id,
        location_id=a.location_id,
        provider=a.provider,
        kind=a.kind,
        start=utc(a.start).astimezone(zone),
        minutes=a.minutes or SLOT_MINUTES,
        status=a.status,
        via=a.booked_via,
        call_sid=a.call_sid,
    )


def _clock(local: dt.datetime) -> str:
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


@dataclass(frozen=True)
class Unit:
    id: int
    location_id: str
    provider: str
    start: dt.datetime  # aware UTC
    taken: bool


def unit(store: Store, unit_id: int) -> Unit | None:
    """One unit of the schedule (what the booking form books from)."""
    with store.sessions() as s:
        row = s.get(Slot, unit_id)
        if row is None:
            return None
        return Unit(row.id, row.location_id, row.provider, utc(row.start), row.appointment_id is not None)


def patient_name(store: Store, patient_id: str) -> str | None:
    """The patient's name ("Pat Example", or the id when the record has none); None when there is no patient."""
    with store.sessions() as s:
        p = s.get(Patient, patient_id)
        if p is None:
            return None
        return " ".join(n for n in (p.first_name, p.last_name) if n) or p.id
