"""The schedule page: a location's day and week per provider (open, booked and held time, who booked, the call
that did, in the location's own zone and in words), staff booking, moving and cancelling under the AI
receptionist's rules, and a patient's appointments on their page. A signed-in client on the real store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time

import pytest
from sqlalchemy import event, select, update

from receptionist.conversation.store_tools import StoreTools
from receptionist.integrations.pms import upsert_appointments_batch
from receptionist.integrations.schemas import PmsAppointment
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.store import Appointment, Patient, Slot
from tests.dashboard_helpers import csrf, sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient

TUESDAY = dt.date(2026, 12, 1)  # the day after the clock's Monday
NY = "America/New_York"


@pytest.fixture
def sched(world, store):
    """Two returning patients, a week of the demo practice's schedule from the clock's Monday; signed in."""
    add_patient(store, "P1", 90, tier="high", **ALL)
    add_patient(store, "P2", 80, tier="high", **ALL)
    w = world(play=False)
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=2)
    w.client = sign_in(w.app.test_client(), store)
    return w


def _unit(store, provider: str, local: dt.datetime) -> int:
    with store.sessions() as s:
        return s.scalar(
            select(Slot.id).where(
                Slot.location_id == "main", Slot.provider == provider, Slot.start == local.astimezone(dt.UTC)
            )
        )


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(NY))


def _booked(store, pid: str) -> list[Appointment]:
    with store.sessions() as s:
        return list(
            s.scalars(
                select(Appointment)
                .where(Appointment.patient_id == pid, Appointment.status == "booked")
                .order_by(Appointment.start)
            )
        )


def _book(w, unit: int, pid: str, visit_type: str = "cleaning"):
    return w.client.post(
        "/schedule/book",
        data={
            "unit": unit,
            "patient": pid,
            "visit_type": visit_type,
            "csrf_token": csrf(w.client, "/schedule"),
        },
    )


def _ai_booking(
    w, store, pid: str, provider: str, local: dt.datetime, call_sid: str = "CA" + "1" * 32, via: str = "ai"
):
    """The AI receptionist books through its own tools, bound to a call (or a text conversation)."""
    location = w.services.practice.main
    tools = StoreTools(
        store,
        location,
        call_sid=call_sid,
        caller_phone=None,
        patient_id=pid,
        now=lambda: w.clock[0],
        practice=w.services.practice,
        verified=[pid],
        via=via,
    )
    return tools.book(_unit(store, provider, local), "cleaning")


def test_day_view_shows_booked_open_and_held_with_who_booked(sched, store):
    """Day view: each provider's column, a call's booking with the AI as its source and a link to the call, a
    PMS booking, a held unit, open units with a Book link; every time in New York's zone, in words."""
    w = sched
    _ai_booking(w, store, "P1", "Hygienist Patel", _at(TUESDAY, 9))
    upsert_appointments_batch(
        w.services,
        [
            PmsAppointment(
                id="PMS-7",
                patient_id="P2",
                start=_at(TUESDAY, 14),
                minutes=60,
                location_id="main",
                provider="Hygienist Moore",
                kind="cleaning",
            )
        ],
    )
    with store.session() as s:  # a visit cancelled elsewhere whose time was never given back: held
        s.add(
            Appointment(
                patient_id="P2",
                location_id="main",
                provider="Dr. Chen",
                start=_at(TUESDAY, 11).astimezone(dt.UTC),
                minutes=30,
                kind="exam",
                status="cancelled",
                booked_via="pms",
            )
        )
        s.flush()
        gone = s.scalar(select(Appointment.id).where(Appointment.provider == "Dr. Chen"))
        s.execute(
            update(Slot)
            .where(Slot.id == _unit(store, "Dr. Chen", _at(TUESDAY, 11)))
            .values(appointment_id=gone)
        )
    r = w.client.get(f"/schedule?day={TUESDAY.isoformat()}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Tue Dec 1, 2026" in html
    for provider in ("Dr. Rivera", "Dr. Chen", "Hygienist Patel", "Hygienist Moore"):
        assert f"<th>{provider}</th>" in html
    assert "Pat1 Example" in html and "booked by the AI receptionist on a call" in html
    assert 'href="/calls/CA' + "1" * 32 + '"' in html
    assert "Pat2 Example" in html and "booked by the practice system" in html
    assert "(continued)" in html  # the second half-hour of each 60-minute cleaning
    assert html.count('class="badge badge-warn">held<') == 1
    assert re.search(r"4 booked · \d+ open · 1 held", html)
    assert "9:00 AM" in html and "4:30 PM" in html  # New York's hours, not UTC's (14:00 UTC is 9 AM)
    assert "14:00" not in html and "+00:00" not in html and "UTC" not in html
    assert "/schedule/book?unit=" in html and "=None" not in html
    # the PMS's 60-minute visit holds both of its units: the AI is never offered its second half
    with store.sessions() as s:
        taken = s.scalars(
            select(Slot.appointment_id).where(
                Slot.provider == "Hygienist Moore",
                Slot.start.in_(
                    [_at(TUESDAY, 14).astimezone(dt.UTC), _at(TUESDAY, 14, 30).astimezone(dt.UTC)]
                ),
            )
        ).all()
    assert len(taken) == 2 and None not in taken


def test_week_view_lists_each_providers_visits_and_a_holiday(sched, store):
    """Week view: providers by day with their visits (time in words, source) and open counts; a holiday week
    shows the day closed by name."""
    w = sched
    _ai_booking(w, store, "P1", "Hygienist Patel", _at(TUESDAY, 9))
    html = w.client.get(f"/schedule?day={TUESDAY.isoformat()}&view=week").get_data(as_text=True)
    assert "Mon Nov 30, 2026" in html and "Fri Dec 4, 2026" in html
    assert "Sat Dec 5" not in html and "Sun Dec 6" not in html  # the practice never opens on weekends
    assert (
        "9:00 AM EST" in html and "Pat1 Example" in html and "booked by the AI receptionist on a call" in html
    )
    patel = re.search(r'<th scope="row">Hygienist Patel</th>(.*?)</tr>', html, re.S).group(1)
    # bookable half-hours a day: Monday after the clock's 10:00 (the half-hour starting now has passed, as
    # booking says), Tuesday less the AI's hour, then 8:00 to 17:00
    assert [int(n) for n in re.findall(r"(\d+) open", patel)] == [13, 16, 18, 18, 18]
    holiday = w.client.get("/schedule?day=2026-11-26&view=week").get_data(as_text=True)
    assert "Closed: Thanksgiving Day" in holiday
    christmas = w.client.get("/schedule?day=2026-12-25").get_data(as_text=True)
    assert "Closed: Christmas Day" in christmas
    fragment = w.client.get(f"/schedule/grid?day={TUESDAY.isoformat()}&view=week").get_data(as_text=True)
    assert "<html" not in fragment and 'id="week-table"' in fragment and "Pat1 Example" in fragment
    far = w.client.get("/schedule?day=9999-12-31")
    assert far.status_code == 200 and "within 10 years of today" in far.get_data(as_text=True)


def test_week_view_reads_in_a_few_queries(sched, store):
    """A week of four providers, well booked, renders in a handful of SQL statements (no query per cell)."""
    w = sched
    for day in range(5):
        for hour in (9, 11, 13):
            _ai_booking(
                w,
                store,
                "P1" if hour != 11 else "P2",
                "Hygienist Patel",
                _at(MONDAY_10AM.date() + dt.timedelta(days=day + 1 if day < 4 else 7), hour),
                call_sid=f"CA{day}{hour:02d}" + "0" * 29,
            )
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(w.services.store.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        r = w.client.get(f"/schedule?day={TUESDAY.isoformat()}&view=week")
        seconds = time.perf_counter() - started
    finally:
        event.remove(w.services.store.engine, "before_cursor_execute", count)
    assert r.status_code == 200 and r.get_data(as_text=True).count("booked by the AI") == 12
    schedule_reads = [s for s in statements if "FROM slots" in s or "FROM appointments" in s]
    assert len(schedule_reads) == 2, schedule_reads
    assert len(statements) <= 8, statements  # the session check and the audit entry besides
    assert seconds < 2.0


def test_staff_book_move_and_cancel(sched, store):
    """Staff book a visit (source: staff), move it (the old time comes free), and cancel it (its time comes
    free); the patient's page lists it; every step is in the audit log."""
    w = sched
    chosen = w.client.get(f"/schedule?day={TUESDAY.isoformat()}&patient=P1").get_data(as_text=True)
    assert "Booking for patient P1" in chosen and "&amp;patient=P1" in chosen  # from the patient's page
    prefilled = w.client.get(
        f"/schedule/book?unit={_unit(store, 'Hygienist Patel', _at(TUESDAY, 10))}&patient=P1"
    )
    assert "For <a" in prefilled.get_data(as_text=True) and "Pat1 Example" in prefilled.get_data(as_text=True)
    form = w.client.get(f"/schedule/book?unit={_unit(store, 'Hygienist Patel', _at(TUESDAY, 10))}")
    assert form.status_code == 200 and "Tue Dec 1, 10:00 AM EST" in form.get_data(as_text=True)
    found = w.client.post(
        "/schedule/book",
        data={
            "unit": _unit(store, "Hygienist Patel", _at(TUESDAY, 10)),
            "action": "search",
            "q": "Pat1",
            "csrf_token": csrf(w.client, "/schedule"),
        },
    ).get_data(as_text=True)
    assert "Pat1 Example" in found and "patient=P1" in found
    r = _book(w, _unit(store, "Hygienist Patel", _at(TUESDAY, 10)), "P1")
    assert r.status_code == 302
    [a] = _booked(store, "P1")
    assert (
        a.booked_via == "staff" and a.minutes == 60 and a.provider == "Hygienist Patel" and a.call_sid is None
    )
    day = w.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Booked: Pat1 Example, cleaning with Hygienist Patel, Tue Dec 1, 10:00 AM EST." in day
    assert "booked by staff" in day

    page = w.client.get(f"/schedule/appointments/{a.id}").get_data(as_text=True)
    assert "Move to another time" in page
    picking = w.client.get(f"/schedule?day={TUESDAY.isoformat()}&move={a.id}").get_data(as_text=True)
    assert "Move here" in picking and "Moving Pat1 Example" in picking
    r = w.client.post(
        f"/schedule/appointments/{a.id}/move",
        data={"unit": _unit(store, "Hygienist Moore", _at(TUESDAY, 10, 30)), "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 302
    [moved] = _booked(store, "P1")
    assert moved.id != a.id and moved.provider == "Hygienist Moore" and moved.booked_via == "staff"
    with store.sessions() as s:
        assert s.get(Appointment, a.id).status == "cancelled"
        assert s.scalar(select(Slot.appointment_id).where(Slot.id == a.slot_id)) is None
        assert s.get(Slot, _unit(store, "Hygienist Moore", _at(TUESDAY, 11))).appointment_id == moved.id

    # half an hour later with the same hygienist: the visit's own old time does not stand in its way
    r = w.client.post(
        f"/schedule/appointments/{moved.id}/move",
        data={"unit": _unit(store, "Hygienist Moore", _at(TUESDAY, 11)), "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 302
    [later] = _booked(store, "P1")
    with store.sessions() as s:
        assert s.get(Slot, _unit(store, "Hygienist Moore", _at(TUESDAY, 10, 30))).appointment_id is None
        assert s.get(Slot, _unit(store, "Hygienist Moore", _at(TUESDAY, 11, 30))).appointment_id == later.id
    r = w.client.post(
        f"/schedule/appointments/{later.id}/move",
        data={"unit": _unit(store, "Hygienist Moore", _at(TUESDAY, 10, 30)), "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 302
    [moved] = _booked(store, "P1")

    patient = w.client.get("/patients/P1").get_data(as_text=True)
    upcoming = patient[patient.index('id="upcoming-appointments"') : patient.index("Past and cancelled")]
    assert "Tue Dec 1, 10:30 AM EST" in upcoming and "Hygienist Moore" in upcoming
    past = patient[patient.index('id="past-appointments"') :]
    assert "Tue Dec 1, 10:00 AM EST" in past and "cancelled" in past

    refused = w.client.post(f"/schedule/appointments/{moved.id}/cancel", data={"csrf_token": csrf(w.client)})
    assert refused.status_code == 400 and len(_booked(store, "P1")) == 1
    r = w.client.post(
        f"/schedule/appointments/{moved.id}/cancel", data={"confirm": "yes", "csrf_token": csrf(w.client)}
    )
    assert r.status_code == 302 and _booked(store, "P1") == []
    with store.sessions() as s:
        assert s.scalars(select(Slot).where(Slot.appointment_id == moved.id)).all() == []
    audit = w.client.get("/audit").get_data(as_text=True)
    for action in ("appointment.book", "appointment.move", "appointment.cancel", "schedule.view"):
        assert action in audit


def test_double_booking_is_refused_with_a_message(sched, store):
    """A provider's booked time, a patient's own overlapping visit and a wrong provider for the visit type are
    refused with a sentence (409), never a 500, and nothing is written."""
    w = sched
    _ai_booking(w, store, "P1", "Hygienist Patel", _at(TUESDAY, 9))
    # the second half of the AI's 60-minute cleaning
    r = _book(w, _unit(store, "Hygienist Patel", _at(TUESDAY, 9, 30)), "P2")
    assert r.status_code == 409
    assert "Hygienist Patel is not free for 60 minutes from Tue Dec 1, 9:30 AM EST" in r.get_data(
        as_text=True
    )
    assert _booked(store, "P2") == []
    # the same patient with another hygienist at the same time
    r = _book(w, _unit(store, "Hygienist Moore", _at(TUESDAY, 9)), "P1")
    assert r.status_code == 409
    assert "This patient already has a visit at Tue Dec 1, 9:00 AM EST" in r.get_data(as_text=True)
    assert len(_booked(store, "P1")) == 1
    # a cleaning is the hygienists'
    r = _book(w, _unit(store, "Dr. Chen", _at(TUESDAY, 13)), "P2")
    assert r.status_code == 409 and "Dr. Chen does not see cleaning visits" in r.get_data(as_text=True)
    # a move onto someone else's time
    [mine] = _booked(store, "P1")
    _book(w, _unit(store, "Hygienist Moore", _at(TUESDAY, 15)), "P2")
    r = w.client.post(
        f"/schedule/appointments/{mine.id}/move",
        data={"unit": _unit(store, "Hygienist Moore", _at(TUESDAY, 15)), "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 409 and "not free" in r.get_data(as_text=True)
    [still] = _booked(store, "P1")
    assert still.id == mine.id and still.provider == "Hygienist Patel"


def test_a_holiday_closing_time_a_deceased_patient_and_the_past_are_refused(sched, store):
    """A day the practice closed after its schedule was made, a visit running past closing time, a deceased patient
    and a time already past cannot be booked."""
    w = sched
    unit = _unit(store, "Hygienist Patel", _at(TUESDAY, 10))
    practice = w.services.practice
    closed = dataclasses.replace(practice.holidays, closed=frozenset({TUESDAY}))
    w.services.practice = dataclasses.replace(
        practice,
        holidays=closed,
        locations=tuple(dataclasses.replace(loc, holidays=closed) for loc in practice.locations),
    )
    r = _book(w, unit, "P1")
    assert r.status_code == 409
    assert "closed on Tue Dec 1, 2026" in r.get_data(as_text=True) and _booked(store, "P1") == []
    short = dataclasses.replace(
        practice.main.hours, by_weekday={**practice.main.hours.by_weekday, 1: (dt.time(8), dt.time(10))}
    )
    w.services.practice = dataclasses.replace(
        practice, locations=tuple(dataclasses.replace(loc, hours=short) for loc in practice.locations)
    )
    r = _book(w, _unit(store, "Hygienist Patel", _at(TUESDAY, 9, 30)), "P1")  # 60 minutes: past closing
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "A 60-minute cleaning at Tue Dec 1, 9:30 AM EST is outside" in text
    assert "opening hours" in text and _booked(store, "P1") == []
    w.services.practice = practice
    with store.session() as s:
        s.get(Patient, "P2").status = "deceased"
    r = _book(w, unit, "P2")
    assert r.status_code == 409 and "recorded as deceased" in r.get_data(as_text=True)
    r = _book(w, _unit(store, "Hygienist Patel", _at(MONDAY_10AM.date(), 9)), "P1")
    assert r.status_code == 409 and "has passed" in r.get_data(as_text=True) and _booked(store, "P1") == []


def test_front_desk_may_book_and_signed_out_may_not(world, store):
    """A front-desk account sees the schedule and books; a signed-out browser is sent to sign in and books
    nothing."""
    add_patient(store, "P1", 90, tier="high", **ALL)
    w = world(play=False)
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=1)
    unit = _unit(store, "Hygienist Patel", _at(TUESDAY, 10))
    anonymous = w.app.test_client()
    r = anonymous.get("/schedule")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = anonymous.post("/schedule/book", data={"unit": unit, "patient": "P1", "visit_type": "cleaning"})
    assert r.status_code in (302, 400) and _booked(store, "P1") == []
    w.client = sign_in(w.app.test_client(), store, "frank", role="front_desk")
    page = w.client.get("/schedule").get_data(as_text=True)
    assert 'href="/schedule"' in page and "Schedule" in page
    assert _book(w, unit, "P1").status_code == 302
    [a] = _booked(store, "P1")
    assert a.booked_via == "staff"


def test_patient_page_lists_upcoming_and_past_appointments(sched, store):
    """The patient's page: upcoming visits soonest first, past ones after, each with who booked and its call."""
    w = sched
    _ai_booking(w, store, "P1", "Hygienist Patel", _at(TUESDAY, 9))
    _ai_booking(w, store, "P1", "Hygienist Moore", _at(dt.date(2026, 12, 8), 13), call_sid="CA" + "2" * 32)
    with store.session() as s:
        s.add(
            Appointment(
                patient_id="P1",
                location_id="main",
                provider="Dr. Rivera",
                start=_at(dt.date(2026, 6, 3), 15).astimezone(dt.UTC),
                minutes=30,
                kind="exam",
                status="booked",
                booked_via="online",
            )
        )
    _ai_booking(
        w, store, "P1", "Hygienist Patel", _at(dt.date(2026, 12, 10), 8), call_sid="SM" + "3" * 32, via="text"
    )
    html = w.client.get("/patients/P1").get_data(as_text=True)
    upcoming = html[html.index('id="upcoming-appointments"') : html.index("Past and cancelled")]
    assert upcoming.index("Tue Dec 1, 9:00 AM EST") < upcoming.index("Tue Dec 8, 1:00 PM EST")
    assert 'href="/calls/CA' + "2" * 32 + '"' in upcoming
    assert "Thu Dec 10, 8:00 AM EST" in upcoming and "the AI receptionist by text" in upcoming
    assert "/calls/SM" not in upcoming  # a text conversation has no call record to open
    past = html[html.index('id="past-appointments"') :]
    assert "Wed Jun 3, 3:00 PM EDT" in past and "online booking" in past and "exam" in past
    assert "Book a visit on the schedule" in html
    assert w.client.get("/patients/P2").get_data(as_text=True).count("No upcoming appointments.") == 1
