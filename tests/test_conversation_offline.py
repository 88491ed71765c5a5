"""Whole conversations through the offline engine, against a small in-memory `Tools` that records every call.

Pure unit tests of the engine: no database, no Redis, no fixtures from conftest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receptionist.conversation.offline import OfflineEngine
from receptionist.conversation.types import (
    AppointmentView,
    CallContext,
    PracticeFacts,
    Reply,
    SlotView,
    ToolError,
    Utterance,
)

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # a Monday, mid-morning
FACTS = PracticeFacts(
    practice_name="Brightsmile Dental",
    location_name="Brightsmile Dental Dupont Circle",
    address="1520 Connecticut Avenue Northwest, Washington, DC 20036",
    hours_text="Monday to Friday, 8 AM to 5 PM",
    phone="+12025550100",
    timezone="America/New_York",
)
HYGIENISTS = ("Hygienist Patel", "Hygienist Moore")
DENTISTS = ("Dr. Rivera", "Dr. Chen")
FORBIDDEN = re.compile(r"\b(tier|score|scores|spend|spending|lifetime|worth|value)\b|[*#_`<>\[\]{}]", re.I)


def week_slots(days: int = 14) -> list[tuple[int, dt.datetime, str, str]]:
    """Hourly slots 8 AM to 4 PM on weekdays from today: (id, start, provider, slot kind)."""
    out = []
    sid = 100
    for offset in range(days):
        day = NOW.date() + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for hour in range(8, 17):
            start = dt.datetime.combine(day, dt.time(hour), TZ)
            for provider in HYGIENISTS + DENTISTS:
                sid += 1
                out.append((sid, start, provider, "cleaning" if provider in HYGIENISTS else "exam"))
    return out


class FakeTools:
    """The `Tools` protocol over lists; every call is recorded as (name, arguments)."""

    def __init__(
        self,
        *,
        patient_id: str | None = "P1",
        slots: list | None = None,
        appointments: list[AppointmentView] | None = None,
        fail: dict[str, Exception] | None = None,
    ) -> None:
        self._patient_id = patient_id
        self.slots = week_slots() if slots is None else list(slots)
        self.appointments = list(appointments or [])
        self.fail = dict(fail or {})
        self.calls: list[tuple[str, dict]] = []
        self.taken: set[int] = set()

    @property
    def patient_id(self) -> str | None:
        return self._patient_id

    def _record(self, name: str, **args: object) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def called(self, name: str) -> list[dict]:
        return [args for call, args in self.calls if call == name]

    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        self._record(
            "open_slots", kind=kind, after=after, part_of_day=part_of_day, weekday=weekday, limit=limit
        )
        slot_kind = "cleaning" if kind == "cleaning" else "exam"
        earliest = max(after or NOW, NOW + dt.timedelta(hours=1))
        out: list[SlotView] = []
        starts: set[dt.datetime] = set()
        for sid, start, provider, k in self.slots:
            if k != slot_kind or sid in self.taken or start < earliest or start in starts:
                continue
            if (
                part_of_day == "morning"
                and start.hour >= 12
                or part_of_day == "afternoon"
                and start.hour < 12
            ):
                continue
            if weekday is not None and start.weekday() != weekday:
                continue
            starts.add(start)
            out.append(SlotView(sid, start, provider, 60))
            if len(out) >= min(limit, 10):
                break
        return out

    def _slot(self, slot_id: int) -> tuple[int, dt.datetime, str, str]:
        for slot in self.slots:
            if slot[0] == slot_id and slot_id not in self.taken:
                return slot
        raise ToolError("I'm sorry, that time is no longer available.")

    def book(self, slot_id: int, kind: str = "cleaning") -> AppointmentView:
        self._record("book", slot_id=slot_id, kind=kind)
        if self._patient_id is None:
            raise ToolError("I need your name before I can book.")
        sid, start, provider, _ = self._slot(slot_id)
        self.taken.add(sid)
        appt = AppointmentView(900 + len(self.appointments), start, provider, kind, "booked")
        self.appointments.append(appt)
        return appt

    def upcoming(self) -> list[AppointmentView]:
        self._record("upcoming")
        return [a for a in self.appointments if a.status == "booked" and a.start >= NOW]

    def reschedule(self, appointment_id: int, slot_id: int) -> AppointmentView:
        self._record("reschedule", appointment_id=appointment_id, slot_id=slot_id)
        old = next((a for a in self.appointments if a.id == appointment_id and a.status == "booked"), None)
        if old is None:
            raise ToolError("I couldn't find that appointment under your name.")
        sid, start, provider, _ = self._slot(slot_id)
        self.taken.add(sid)
        self.appointments[self.appointments.index(old)] = replace(old, status="cancelled")
        new = AppointmentView(900 + len(self.appointments), start, provider, old.kind, "booked")
        self.appointments.append(new)
        return new

    def cancel(self, appointment_id: int) -> AppointmentView:
        self._record("cancel", appointment_id=appointment_id)
        old = next((a for a in self.appointments if a.id == appointment_id and a.status == "booked"), None)
        if old is None:
            raise ToolError("I couldn't find that appointment under your name.")
        new = replace(old, status="cancelled")
        self.appointments[self.appointments.index(old)] = new
        return new

    def register_caller(self, first_name: str, last_name: str) -> str:
        self._record("register_caller", first_name=first_name, last_name=last_name)
        self._patient_id = "N1"
        return "N1"

    def take_message(self, text: str) -> None:
        self._record("take_message", text=text)

    def queue_callback(self, reason: str, priority: str = "normal") -> None:
        self._record("queue_callback", reason=reason, priority=priority)

    def opt_out(self) -> None:
        self._record("opt_out")

    def flag_emergency(self, summary: str) -> None:
        self._record("flag_emergency", summary=summary)


def context(
    *,
    is_open: bool = True,
    first_name: str | None = "Margaret",
    patient_id: str | None = "P1",
    reason: str = "routine",
    direction: str = "inbound",
    now: dt.datetime = NOW,
) -> CallContext:
    return CallContext(
        call_sid="CA0123456789abcdef0123456789abcdef",
        facts=FACTS,
        now=now,
        is_open=is_open,
        caller_phone="+12025550143",
        patient_id=patient_id,
        first_name=first_name,
        direction=direction,
        reason=reason,
    )  # type: ignore[arg-type]


def appointment(
    aid: int, day: int, hour: int, kind: str = "cleaning", provider: str = "Hygienist Patel"
) -> AppointmentView:
    return AppointmentView(aid, dt.datetime(2026, 12, day, hour, tzinfo=TZ), provider, kind, "booked")


def check(reply: Reply) -> None:
    """What every reply must be: spoken text, a valid action, a JSON-able state, nothing it must not say."""
    assert isinstance(reply.say, str) and reply.say.strip()
    assert reply.action in ("listen", "transfer", "hangup")
    assert json.loads(json.dumps(reply.state)) == reply.state
    assert not FORBIDDEN.search(reply.say), reply.say


class Call:
    """One phone call: the engine's state goes through JSON between turns, as it does through Redis."""

    def __init__(
        self,
        tools: FakeTools | None = None,
        ctx: CallContext | None = None,
        engine: OfflineEngine | None = None,
    ) -> None:
        self.tools = tools or FakeTools()
        self.ctx = ctx or context(patient_id=self.tools.patient_id)
        self.engine = engine or OfflineEngine(raise_errors=True)
        self.reply = self.engine.start(self.ctx, self.tools)
        check(self.reply)
        self.state = json.loads(json.dumps(self.reply.state))

    def say(
        self, speech: str | None = None, digits: str | None = None, confidence: float | None = 0.92
    ) -> Reply:
        heard = Utterance(speech=speech, digits=digits, confidence=confidence if speech else None)
        self.reply = self.engine.respond(self.ctx, self.tools, self.state, heard)
        check(self.reply)
        self.state = json.loads(json.dumps(self.reply.state))
        return self.reply

    @property
    def stage(self) -> str:
        return self.state["stage"]


def slot_id(month: int, day: int, hour: int, provider: str) -> int:
    for sid, start, prov, _ in week_slots():
        if start == dt.datetime(2026, month, day, hour, tzinfo=TZ) and prov == provider:
            return sid
    raise LookupError


# -- greetings --------------------------------------------------------------------------------------------------


def test_greeting_names_the_practice_and_says_it_is_automated():
    """The first words name the practice, say it is an automated assistant and ask how to help."""
    call = Call(ctx=context(first_name=None))
    assert call.reply.say == (
        "Thank you for calling Brightsmile Dental. This is the automated assistant. How can I help you today?"
    )
    assert call.reply.action == "listen" and call.stage == "menu"


def test_greeting_uses_a_known_callers_first_name():
    """A known caller is greeted by first name."""
    assert Call().reply.say.startswith("Hi Margaret, thank you for calling Brightsmile Dental.")


def test_greeting_after_a_failed_transfer_apologises_and_promises_a_callback():
    """After a failed transfer the caller hears that nobody could take the call and that staff will call back."""
    tools = FakeTools()
    say = Call(tools, context(reason="transfer_failed")).reply.say
    assert "sorry" in say.lower() and "nobody at the front desk" in say and "call you back" in say
    assert "automated assistant" in say
    assert tools.called("queue_callback") == []  # the webhook queues that callback


def test_greeting_after_hours_says_closed_and_gives_hours():
    """After hours the greeting says the office is closed, gives the hours and offers booking or a message."""
    say = Call(ctx=context(is_open=False, reason="after_hours")).reply.say
    assert "closed right now" in say and "Monday to Friday, 8 AM to 5 PM" in say
    assert "book" in say and "message" in say


def test_greeting_is_safe_with_an_odd_first_name():
    """A first name that is not a plain name is not read out."""
    say = Call(ctx=context(first_name="<b>Bob</b> ; DROP")).reply.say
    assert say.startswith("Thank you for calling")


@pytest.mark.parametrize(
    "ctx",
    [
        context(),
        context(first_name=None),
        context(first_name="<b>Bob</b> ; DROP"),
        context(reason="transfer_failed"),
        context(is_open=False, reason="after_hours"),
        context(direction="outbound", reason="reactivation"),
        context(direction="outbound", first_name=None, reason="reactivation"),
    ],
)
def test_greetings_worked_out_once_are_the_greetings(ctx):
    """The engine keeps each greeting it has made: later calls get the same words and a state of their own."""
    from receptionist.conversation import offline

    offline._GREETINGS.clear()
    fresh = offline._Turn(ctx, FakeTools(), offline._load({}), Utterance()).greet()
    first = OfflineEngine(raise_errors=True).start(ctx, FakeTools())
    first.state["stage"] = "tampered"  # a caller's state is theirs to change
    again = OfflineEngine(raise_errors=True).start(
        replace(ctx, call_sid="CA" + "f" * 32, now=NOW.replace(hour=16)), FakeTools()
    )
    assert (first.say, first.action) == (again.say, again.action) == (fresh.say, fresh.action)
    assert again.state == fresh.state and again.state is not first.state
    assert all(isinstance(v, str | int | bool) for v in again.state.values())  # so a shallow copy is a copy


# -- booking ----------------------------------------------------------------------------------------------------


def test_booking_offers_three_slots_and_books_the_second():
    """A booking offers the next three openings, the caller picks the second, confirms, and it is booked."""
    call = Call()
    reply = call.say("Hi, I'd like to book a cleaning please")
    assert reply.say == (
        "I have three openings: today at 11 AM with Hygienist Patel, today at noon with Hygienist "
        "Patel, or today at 1 PM with Hygienist Patel. Which one would you like?"
    )
    assert call.tools.called("open_slots") == [
        {"kind": "cleaning", "after": NOW, "part_of_day": None, "weekday": None, "limit": 3}
    ]
    assert call.stage == "offer"
    reply = call.say("the second one")
    assert reply.say == "Shall I book a cleaning for today at noon with Hygienist Patel?"
    assert call.tools.called("book") == []
    reply = call.say("yes please")
    assert call.tools.called("book") == [
        {"slot_id": slot_id(11, 30, 12, "Hygienist Patel"), "kind": "cleaning"}
    ]
    assert reply.say == (
        "You're all set, Margaret. I've booked a cleaning today at noon with Hygienist Patel. "
        "Is there anything else I can help with?"
    )
    assert reply.say.endswith("Is there anything else I can help with?")
    reply = call.say("no that's all, thanks")
    assert reply.action == "hangup" and "Goodbye" in reply.say


def test_booking_honours_a_day_and_part_of_day_preference():
    """ "Next Tuesday afternoon" searches from that Tuesday, afternoons only, and offers slots on that day."""
    call = Call()
    reply = call.say("Can I come in for a cleaning next Tuesday afternoon?")
    query = call.tools.called("open_slots")[0]
    assert query["after"] == dt.datetime(2026, 12, 8, 0, 0, tzinfo=TZ) and query["part_of_day"] == "afternoon"
    assert reply.say.startswith(
        "I have three openings: Tuesday December 8th at noon with Hygienist Patel, "
        "Tuesday December 8th at 1 PM with Hygienist Patel, or Tuesday December 8th at 2 PM"
    )


def test_booking_a_weekday_searches_that_weekday():
    """A bare weekday ("on a Thursday") asks the tools for that weekday."""
    call = Call()
    call.say("I need a checkup on Thursday morning")
    query = call.tools.called("open_slots")[0]
    assert query["weekday"] == 3 and query["part_of_day"] == "morning" and query["kind"] == "cleaning"
    assert "Thursday December 3rd at 8 AM" in call.reply.say


def test_none_of_those_offers_the_next_ones_after_the_last_offered():
    """ "None of those" offers the next openings after the last one offered."""
    call = Call()
    call.say("book a cleaning")
    first = [o["start"] for o in call.state["offers"]]
    reply = call.say("none of those work")
    second = [o["start"] for o in call.state["offers"]]
    assert min(second) > max(first)
    assert reply.say.startswith("Okay. I have three openings:")


def test_another_day_skips_to_the_next_day():
    """ "Another day" offers openings from the day after the last offered one."""
    call = Call()
    call.say("book a cleaning")
    call.say("do you have another day?")
    starts = [dt.datetime.fromisoformat(o["start"]) for o in call.state["offers"]]
    assert all(s.date() == dt.date(2026, 12, 1) for s in starts)


def test_picking_by_time_by_day_and_by_key():
    """Callers pick an offer by its time, by its day, or by pressing its number."""
    call = Call()
    call.say("I'd like to book a cleaning")
    assert call.say("the 1 o'clock").say == "Shall I book a cleaning for today at 1 PM with Hygienist Patel?"
    call = Call()
    call.say("book a cleaning")
    assert call.say(digits="3").say == "Shall I book a cleaning for today at 1 PM with Hygienist Patel?"
    call = Call()
    call.say("a cleaning please, any day after 3")
    offers = [dt.datetime.fromisoformat(o["start"]) for o in call.state["offers"]]
    assert [(o.day, o.hour) for o in offers] == [(30, 15), (30, 16), (1, 15)]
    assert (
        call.say("the Tuesday one").say
        == "Shall I book a cleaning for tomorrow at 3 PM with Hygienist Patel?"
    )


def test_a_spoken_number_is_a_choice_unless_it_is_beyond_the_offers():
    """ "Two" picks the second offer; "nine" of three offers looks for 9 o'clock."""
    call = Call()
    call.say("book a cleaning")
    assert call.say("two").say == "Shall I book a cleaning for today at noon with Hygienist Patel?"
    call = Call()
    call.say("book a cleaning")
    reply = call.say("nine")
    assert reply.say.startswith(
        "I have three openings: tomorrow at 9 AM with Hygienist Patel, Wednesday December 2nd at 9 AM"
    )


def test_a_time_not_available_offers_the_closest_each_day():
    """A time outside the schedule offers, day by day, the nearest openings."""
    reply = Call().say("I need a cleaning at 5:30 pm")
    assert reply.say.startswith(
        "I don't have anything at 5:30 PM. I have three openings: today at 4 PM with "
        "Hygienist Patel, tomorrow at 4 PM"
    )


def test_a_closed_day_says_so_and_offers_the_next_openings():
    """Asking for a day the practice is closed says so and offers the next openings."""
    reply = Call().say("can I get a cleaning on Saturday morning")
    assert reply.say.startswith(
        "I don't have anything on a Saturday in the morning. I have three openings: today at 11 AM"
    )


def test_a_day_not_among_the_offers_searches_again():
    """Naming a day that was not offered looks for openings on that day instead."""
    call = Call()
    call.say("book a cleaning")
    reply = call.say("do you have anything on Friday?")
    assert "Friday December 4th" in reply.say
    assert call.tools.called("open_slots")[-1]["weekday"] == 4


def test_yes_to_a_single_offer_books_it():
    """When only one opening exists, yes books it."""
    tools = FakeTools(slots=[(7, dt.datetime(2026, 12, 2, 9, tzinfo=TZ), "Hygienist Moore", "cleaning")])
    call = Call(tools)
    reply = call.say("I want to schedule a cleaning")
    assert reply.say == (
        "The first opening I have is Wednesday December 2nd at 9 AM with Hygienist Moore. "
        "Would you like me to book it?"
    )
    call.say("yeah that works")
    assert tools.called("book") == [{"slot_id": 7, "kind": "cleaning"}]


def test_no_at_confirmation_lists_the_offers_again():
    """Saying no to "Shall I book ...?" reads the offers again instead of booking."""
    call = Call()
    call.say("book a cleaning")
    call.say("the third one")
    reply = call.say("no")
    assert call.tools.called("book") == [] and call.stage == "offer" and "The times I have are" in reply.say
    call.say("the first one")
    call.say("yes")
    assert len(call.tools.called("book")) == 1


def test_filling_books_an_exam_with_a_dentist():
    """A filling or toothache is booked as an exam with a dentist."""
    call = Call()
    reply = call.say("I lost a filling and my tooth hurts, can I get in soon?")
    assert call.tools.called("open_slots")[0]["kind"] == "exam" and "Dr. Rivera" in reply.say
    call.say("first")
    call.say("sure")
    assert call.tools.called("book")[0]["kind"] == "exam"


def test_unknown_caller_gives_their_name_before_booking():
    """An unknown caller is asked for first and last name, registered, then booked."""
    tools = FakeTools(patient_id=None)
    call = Call(tools, context(first_name=None, patient_id=None))
    call.say("I'm a new patient and I'd like to book a cleaning")
    call.say("the first one")
    reply = call.say("yes")
    assert (
        reply.say == "Before I book that, may I have your first and last name?" and tools.called("book") == []
    )
    reply = call.say("Sure, it's Jane Smith")
    assert tools.called("register_caller") == [{"first_name": "Jane", "last_name": "Smith"}]
    assert len(tools.called("book")) == 1 and "You're all set, Jane." in reply.say


def test_unknown_caller_asked_again_for_the_last_name():
    """When only a first name is heard the engine asks for the last name."""
    tools = FakeTools(patient_id=None)
    call = Call(tools, context(first_name=None, patient_id=None))
    call.say("can I book a cleaning")
    call.say("number two")
    call.say("yes")
    assert call.say("Jane").say == "Thanks, Jane. And your last name?"
    call.say("Smith")
    assert tools.called("register_caller") == [{"first_name": "Jane", "last_name": "Smith"}]
    assert len(tools.called("book")) == 1


def test_a_name_given_up_front_is_used_without_asking():
    """A name said at the start ("this is Jane Smith") is used when booking."""
    tools = FakeTools(patient_id=None)
    call = Call(tools, context(first_name=None, patient_id=None))
    call.say("Hi, this is Jane Smith, I'd like to book a cleaning")
    call.say("the first one")
    call.say("yes")
    assert tools.called("register_caller") == [{"first_name": "Jane", "last_name": "Smith"}]
    assert len(tools.called("book")) == 1


def test_no_open_slots_offers_a_message_or_callback():
    """With nothing open the caller is offered a message or a callback, and a callback is queued on request."""
    tools = FakeTools(slots=[])
    call = Call(tools, context(is_open=False))
    reply = call.say("book a cleaning")
    assert "don't have any openings" in reply.say and "take a message" in reply.say
    reply = call.say("please have someone call me back")
    assert tools.called("queue_callback")[0]["priority"] == "normal" and "call you back" in reply.say


def test_slot_taken_meanwhile_is_said_and_other_times_offered():
    """A ToolError from booking is read out and other times are offered."""
    tools = FakeTools(fail={"book": ToolError("I'm sorry, that time was just taken.")})
    call = Call(tools)
    call.say("book a cleaning")
    call.say("first")
    reply = call.say("yes")
    assert reply.say.startswith("I'm sorry, that time was just taken. Here are some other times.")
    assert call.stage == "offer"
    assert slot_id(11, 30, 11, "Hygienist Patel") not in [o["id"] for o in call.state["offers"]]


# -- rescheduling and cancelling ----------------------------------------------------------------------------


def test_reschedule_the_only_appointment():
    """Rescheduling confirms the caller's appointment, offers new times and moves it."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    reply = call.say("I need to re schedule my appointment")
    assert reply.say == (
        "I see your cleaning on Thursday December 3rd at 9 AM with Hygienist Patel. "
        "Would you like to move that one?"
    )
    reply = call.say("yes to next week please")
    assert "Monday December 7th at 8 AM" in reply.say
    reply = call.say("the first")
    assert reply.say == "Shall I move your cleaning to Monday December 7th at 8 AM with Hygienist Patel?"
    reply = call.say("yes")
    assert tools.called("reschedule") == [
        {"appointment_id": 501, "slot_id": slot_id(12, 7, 8, "Hygienist Patel")}
    ]
    assert "I've moved your cleaning" in reply.say and "Monday December 7th at 8 AM" in reply.say


def test_reschedule_picks_among_several_appointments():
    """With several appointments the caller picks one by order before new times are offered."""
    tools = FakeTools(appointments=[appointment(501, 3, 9), appointment(502, 10, 14, "exam", "Dr. Chen")])
    call = Call(tools)
    reply = call.say("can I move my appointment")
    assert (
        "You have two upcoming appointments:" in reply.say
        and "Which one would you like to move?" in reply.say
    )
    reply = call.say("the second one")
    assert (
        reply.say.startswith("Okay, your exam on Thursday December 10th at 2 PM.") and call.stage == "offer"
    )
    assert call.tools.called("open_slots")[-1]["kind"] == "exam"
    call.say("the first")
    call.say("yes")
    assert tools.called("reschedule")[0]["appointment_id"] == 502


def test_reschedule_with_no_appointments_offers_to_book():
    """Nothing to move: the caller is told so and offered a booking."""
    call = Call()
    reply = call.say("I want to reschedule")
    assert "don't see any upcoming appointments" in reply.say and call.stage == "offer_book"
    call.say("yes please")
    assert call.stage == "offer"


def test_cancel_needs_confirmation_and_offers_to_rebook():
    """Cancelling asks for confirmation, cancels, then offers to book again."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    reply = call.say("I have to cancel my appointment")
    assert reply.say.endswith("Shall I cancel it?") and tools.called("cancel") == []
    reply = call.say("yes please")
    assert tools.called("cancel") == [{"appointment_id": 501}]
    assert "is cancelled" in reply.say and reply.say.endswith("Would you like to book a new time?")
    reply = call.say("no thanks")
    assert reply.say.endswith("Is there anything else I can help with?")
    assert call.say("no, bye").action == "hangup"


def test_cancel_declined_leaves_the_appointment():
    """No at the cancel confirmation cancels nothing."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    call.say("cancel my cleaning")
    reply = call.say("actually no, I don't want to cancel")
    assert tools.called("cancel") == [] and "leave it as it is" in reply.say


def test_cancel_identifies_the_appointment_by_day():
    """Naming the day picks the appointment to cancel among several."""
    tools = FakeTools(appointments=[appointment(501, 3, 9), appointment(502, 10, 14, "exam", "Dr. Chen")])
    call = Call(tools)
    reply = call.say("cancel my appointment on the 10th")
    assert "your exam on Thursday December 10th at 2 PM" in reply.say and reply.say.endswith(
        "Shall I cancel it?"
    )
    call.say("yes")
    assert tools.called("cancel") == [{"appointment_id": 502}]


def test_my_appointments_are_read_out():
    """The caller hears their own upcoming appointments, or that there are none."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    reply = Call(tools).say("when is my next appointment?")
    assert "You have a cleaning on Thursday December 3rd at 9 AM with Hygienist Patel." in reply.say
    reply = Call().say("do I have an appointment coming up")
    assert "don't see any upcoming appointments" in reply.say


# -- information, people, messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("is_open, expected", [(True, "We're open now."), (False, "We're closed right now.")])
def test_hours_and_whether_open_now(is_open, expected):
    """Hours come from the practice facts, with whether the office is open right now."""
    reply = Call(ctx=context(is_open=is_open)).say("what are your hours")
    assert reply.say.startswith(f"Our hours are Monday to Friday, 8 AM to 5 PM. {expected}")
    assert reply.action == "listen"


def test_address_is_read_with_the_zip_code_digit_by_digit():
    """The address is spoken with its ZIP code digit by digit."""
    reply = Call().say("where are you located?")
    assert "1520 Connecticut Avenue Northwest, Washington, DC 2 0 0 3 6." in reply.say


def test_hours_in_the_middle_of_booking_keep_the_booking_going():
    """An information question in the middle of booking is answered and the pending question asked again."""
    call = Call()
    call.say("book a cleaning")
    reply = call.say("wait, what time do you close?")
    assert reply.say.startswith("Our hours are") and "Which one would you like?" in reply.say
    assert call.stage == "offer"
    call.say("second")
    assert call.stage == "confirm_slot"


def test_human_when_open_transfers():
    """Asking for a person while open transfers to the front desk."""
    tools = FakeTools()
    reply = Call(tools).say("can I speak to a real person please")
    assert reply.action == "transfer" and reply.say == "Let me put you through to our front desk."
    assert tools.called("queue_callback") == []


def test_pressing_zero_transfers():
    """Pressing 0 asks for a person."""
    assert Call().say(digits="0").action == "transfer"


def test_human_when_closed_queues_a_callback():
    """Asking for a person after hours queues a callback and names the hours."""
    tools = FakeTools()
    call = Call(tools, context(is_open=False, reason="after_hours"))
    reply = call.say("I want to talk to the receptionist")
    assert tools.called("queue_callback") == [
        {"reason": "caller asked for a person after hours", "priority": "normal"}
    ]
    assert reply.action == "listen" and "call you back when we open" in reply.say
    assert "Monday to Friday, 8 AM to 5 PM" in reply.say
    call.say("operator")
    assert len(tools.called("queue_callback")) == 1


def test_message_is_taken_in_the_callers_words():
    """The caller's next words are passed on as the message, and it is confirmed."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say("I'd like to leave a message")
    assert reply.say == "Of course. What message would you like me to pass on?"
    reply = call.say("Please tell Dr. Chen I'll be ten minutes late on Thursday.")
    assert tools.called("take_message") == [
        {"text": "Please tell Dr. Chen I'll be ten minutes late on Thursday."}
    ]
    assert "passed your message on" in reply.say and call.stage == "anything_else"


def test_callback_request():
    """Asking to be called back queues one normal callback."""
    tools = FakeTools()
    reply = Call(tools).say("could someone call me back later")
    assert tools.called("queue_callback") == [{"reason": "caller asked for a callback", "priority": "normal"}]
    assert "call you back" in reply.say


def test_billing_questions_go_to_staff():
    """Costs and insurance are for staff: a transfer is offered when open, a message taken when closed."""
    call = Call()
    reply = call.say("how much does a cleaning cost with my insurance?")
    assert reply.say == "Our front desk can help with that. Would you like me to put you through?"
    assert call.say("yes please").action == "transfer"
    call = Call(ctx=context(is_open=False))
    call.say("I have a question about my bill")
    call.say("Please call me about the charge from November.")
    assert len(call.tools.called("take_message")) == 1


def test_who_is_this():
    """Asked who it is, the receptionist says it is the automated assistant and asks again."""
    reply = Call().say("wait, am I talking to a robot?")
    assert reply.say == "I'm the automated assistant for Brightsmile Dental. How can I help you today?"


def test_medical_advice_is_declined():
    """A request for medical advice gets the fixed line offering a booking or a message."""
    reply = Call().say("my gum is bleeding a little, should I take ibuprofen?")
    assert reply.say == (
        "I can't give medical advice, but I can book you in with the dentist or take a message "
        "for the clinical team. Which would you prefer?"
    )


# -- opt-out and emergencies ------------------------------------------------------------------------------------


def test_opt_out_is_immediate_once_and_the_call_goes_on():
    """An opt-out calls the tool once, confirms in one sentence, and the caller can still be served."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say("please stop calling me")
    assert tools.called("opt_out") == [{}]
    assert reply.say == (
        "Done: we won't call, text or email you again. Is there anything else I can help with?"
    )
    assert reply.action == "listen"
    assert call.say("what are your hours").say.startswith("Our hours are")
    call.say("and take me off your list")
    assert len(tools.called("opt_out")) == 1


def test_opt_out_with_another_request_does_both():
    """ "Stop calling me, and cancel my appointment" opts out, then starts the cancellation."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    reply = call.say("Stop calling me and cancel my appointment")
    assert tools.called("opt_out") == [{}]
    assert reply.say.startswith("Done: we won't call, text or email you again. I see your cleaning")
    assert call.stage == "confirm_appt"


def test_opt_out_while_booking():
    """An opt-out in the middle of booking is honoured at once."""
    tools = FakeTools()
    call = Call(tools)
    call.say("book a cleaning")
    call.say("don't call me again")
    assert tools.called("opt_out") == [{}] and tools.called("book") == []


@pytest.mark.parametrize(
    "said",
    [
        "I want to book but I'm having chest pain",
        "my husband can't breathe",
        "the bleeding won't stop after my extraction",
        "my face is swollen and it's hard to swallow",
        "it's an emergency",
    ],
)
def test_emergency_wins_and_ends_the_call(said):
    """An emergency is flagged, the caller told to dial 911 or go to an emergency room, and the call ends."""
    tools = FakeTools()
    reply = Call(tools).say(said)
    assert len(tools.called("flag_emergency")) == 1 and said in tools.called("flag_emergency")[0]["summary"]
    assert "dial 9 1 1" in reply.say and "emergency room" in reply.say and reply.action == "hangup"
    assert tools.called("book") == [] and tools.called("open_slots") == []


def test_emergency_in_the_middle_of_a_message():
    """An emergency said instead of a message is still an emergency."""
    tools = FakeTools()
    call = Call(tools)
    call.say("leave a message")
    reply = call.say("actually I'm having chest pain right now")
    assert reply.action == "hangup" and tools.called("take_message") == []


def test_emergency_said_even_if_the_tool_fails():
    """The caller is told to dial 911 even when flagging the emergency fails."""
    tools = FakeTools(fail={"flag_emergency": RuntimeError("store down")})
    reply = Call(tools).say("I can't breathe")
    assert "dial 9 1 1" in reply.say and reply.action == "hangup"


# -- silence, misunderstanding, failures ------------------------------------------------------------------------


def test_one_silence_reprompts_two_end_with_a_callback():
    """One silence reprompts with the pending question; a second one queues a callback and hangs up."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say()
    assert reply.say == "Sorry, I didn't catch that. How can I help you today?" and reply.action == "listen"
    reply = call.say()
    assert tools.called("queue_callback") == [{"reason": "caller could not be heard", "priority": "normal"}]
    assert reply.action == "hangup"


def test_silence_count_resets_when_the_caller_speaks():
    """Silences must be consecutive to end the call."""
    call = Call()
    call.say()
    call.say("what are your hours")
    assert call.say().action == "listen"


def test_three_misunderstandings_transfer_when_open():
    """Three garbage turns in a row transfer to the front desk while open."""
    call = Call()
    first = call.say("purple monkey dishwasher")
    assert first.say.startswith("Sorry, I didn't understand that. I can book, move or cancel an appointment")
    call.say("blah blah")
    reply = call.say("zxcv")
    assert reply.action == "transfer" and "front desk" in reply.say


def test_three_misunderstandings_take_a_message_when_closed():
    """Three garbage turns after hours lead to taking a message."""
    tools = FakeTools()
    call = Call(tools, context(is_open=False))
    for said in ("purple monkey", "ghjk", "lorem ipsum"):
        reply = call.say(said)
    assert reply.action == "listen" and call.stage == "message"
    call.say("call me about my bill")
    assert len(tools.called("take_message")) == 1


def test_low_confidence_speech_is_not_trusted():
    """Speech recognised with confidence below 0.3 gets a reprompt, not an action."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say("cancel my appointment", confidence=0.2)
    assert reply.say.startswith("Sorry, I didn't understand that.") and tools.called("upcoming") == []


def test_keys_where_speech_was_expected_are_a_misunderstanding():
    """A key that is not a choice, pressed at an open question, reprompts with the menu."""
    reply = Call().say(digits="7")
    assert reply.say.startswith("Sorry, I didn't understand that.") and reply.action == "listen"


def test_tool_error_is_said_politely_with_alternatives():
    """A ToolError is read out with alternatives instead of failing the call."""
    tools = FakeTools(fail={"upcoming": ToolError("I couldn't look up your appointments just now.")})
    reply = Call(tools).say("when is my appointment")
    assert reply.say == (
        "I couldn't look up your appointments just now. I can take a message, or put you through "
        "to our front desk. What would you like to do?"
    )


def test_unexpected_errors_never_escape():
    """An unexpected exception inside a tool becomes an apology and an offer to transfer."""
    tools = FakeTools(fail={"open_slots": RuntimeError("boom")})
    call = Call(tools, engine=OfflineEngine())
    reply = call.say("book a cleaning")
    assert reply.say.startswith("I'm sorry, something went wrong on my side.") and reply.action == "listen"
    assert call.say("yes").action == "transfer"


def test_corrupt_state_is_not_trusted():
    """A state dict with junk in it is treated as a fresh conversation."""
    engine = OfflineEngine(raise_errors=True)
    junk = {"stage": "offer", "offers": [{"id": None, "start": "yesterday"}, 5], "misses": "lots", "pref": []}
    reply = engine.respond(context(), FakeTools(), junk, Utterance("what are your hours"))
    check(reply)
    assert reply.say.startswith("Our hours are")


def test_goodbye_hangs_up():
    """Goodbye ends the call politely."""
    reply = Call().say("nothing, thanks, bye")
    assert reply.action == "hangup" and reply.say.endswith("Goodbye.")


def test_repeat_says_the_last_reply_again():
    """ "Can you repeat that" repeats the last reply."""
    call = Call()
    offers = call.say("book a cleaning").say
    assert call.say("sorry, can you repeat that?").say == offers


# -- properties ---------------------------------------------------------------------------------------------------

WORDS = [
    "book",
    "cleaning",
    "cancel",
    "reschedule",
    "yes",
    "no",
    "the second one",
    "tomorrow",
    "Tuesday",
    "at 3",
    "after 2",
    "morning",
    "none of those",
    "my name is Jane Smith",
    "Smith",
    "hours",
    "address",
    "person",
    "message",
    "stop calling me",
    "bye",
    "what",
    "um",
    "the 3rd",
    "December 4",
    "number 2",
    "next week",
    "anything later",
    "filling",
    "my appointment",
    "repeat that",
    "call me back",
    "0",
    "nine thirty",
]
utterances = st.one_of(
    st.builds(Utterance),
    st.builds(Utterance, speech=st.text(max_size=60)),
    st.builds(
        Utterance,
        speech=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
        confidence=st.one_of(st.none(), st.floats(0, 1)),
    ),
    st.builds(Utterance, digits=st.text(alphabet="0123456789*#", min_size=1, max_size=4)),
)


TOOL_METHODS = [
    "open_slots",
    "book",
    "upcoming",
    "reschedule",
    "cancel",
    "register_caller",
    "take_message",
    "queue_callback",
    "opt_out",
    "flag_emergency",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.lists(utterances, min_size=1, max_size=10),
    is_open=st.booleans(),
    known=st.booleans(),
    with_appointments=st.booleans(),
    refusing=st.lists(st.sampled_from(TOOL_METHODS), max_size=3),
    reason=st.sampled_from(["routine", "after_hours", "transfer_failed"]),
)
def test_engine_never_raises_and_always_answers(
    sequence, is_open, known, with_appointments, refusing, reason
):
    """For any speech, keys, silences and tool refusals the engine answers, with a valid action and JSON state."""
    tools = FakeTools(
        patient_id="P1" if known else None,
        appointments=[appointment(501, 3, 9), appointment(502, 10, 14, "exam", "Dr. Chen")]
        if with_appointments
        else [],
        fail={name: ToolError("I'm sorry, I can't do that right now.") for name in refusing},
    )
    ctx = context(
        is_open=is_open, patient_id=tools.patient_id, first_name="Margaret" if known else None, reason=reason
    )
    engine = OfflineEngine(raise_errors=True)
    reply = engine.start(ctx, tools)
    check(reply)
    for heard in sequence:
        reply = engine.respond(ctx, tools, json.loads(json.dumps(reply.state)), heard)
        check(reply)
        if reply.action != "listen":
            break
    if not {"opt_out", "take_message", "queue_callback"} <= set(refusing):
        # once the opt-out (or its message or callback for staff) is recorded, it is never asked for again
        assert len(tools.called("opt_out")) <= 1


def test_an_opt_out_nothing_could_record_is_tried_again():
    """If the opt-out, the message and the callback are all refused, the caller is told so and a repeat tries again."""
    refuse = ToolError("I'm sorry, I can't do that right now.")
    tools = FakeTools(fail={"opt_out": refuse, "take_message": refuse, "queue_callback": refuse})
    call = Call(tools)
    assert "couldn't record that" in call.say("stop calling me").say
    call.say("stop calling me")
    assert len(tools.called("opt_out")) == 2


def test_an_opt_out_falls_back_to_a_callback_for_staff():
    """Opt-out and message refused: a high-priority callback asks staff to take the caller off every list."""
    refuse = ToolError("I'm sorry, I can't do that right now.")
    tools = FakeTools(fail={"opt_out": refuse, "take_message": refuse})
    call = Call(tools)
    assert "asked our team" in call.say("stop calling me").say
    assert tools.called("queue_callback")[0]["priority"] == "high"
    call.say("stop calling me")
    assert len(tools.called("opt_out")) == 1
