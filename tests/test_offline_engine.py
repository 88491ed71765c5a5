"""Whole conversations through the offline engine (`conversation/offline`), against the demo practice and an
in-memory `Tools` that keeps the protocol's rules and records every call (`tests/offline_helpers.py`).

Pure unit tests of the engine: no database, no Redis, no fixtures from conftest. The clock is Monday 30
November 2026, 10 AM in Washington; the caller is Margaret (P1), with her husband Robert and her daughter
Emma (7) on her account, and a date of birth on file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receptionist.conversation.offline import OfflineEngine
from receptionist.conversation.types import ToolError, Utterance
from tests.offline_helpers import (
    BIRTHDAY,
    HOURS,
    NOW,
    TZ,
    Call,
    FakeTools,
    Record,
    appointment,
    check,
    context,
    family,
)

REFUSE = ToolError("I'm sorry, I can't do that right now.")
DOB = "January 21st, 1958"  # Margaret's date of birth, as said


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def booked(tools: FakeTools) -> list:
    return [a for a in tools.appointments if a.status == "booked" and a.id in tools.booked_here]


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
    assert "closed right now" in say and HOURS in say
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
def test_greetings_are_the_same_for_every_call_and_each_call_has_its_own_state(ctx):
    """The same context gets the same greeting whatever the call and the hour (the engine keeps nothing between
    calls), and each call's state is its own: changing one does not change the next."""
    engine = OfflineEngine(raise_errors=True)
    first = engine.start(ctx, FakeTools())
    first.state["stage"] = "tampered"  # a caller's state is theirs to change
    first.state["frame"]["days"].append("2026-12-01")
    again = engine.start(replace(ctx, call_sid="CA" + "f" * 32, now=NOW.replace(hour=16)), FakeTools())
    fresh = OfflineEngine(raise_errors=True).start(ctx, FakeTools())
    assert (first.say, first.action) == (again.say, again.action) == (fresh.say, fresh.action)
    assert again.state == fresh.state and again.state["stage"] != "tampered"
    assert again.state["frame"]["days"] == []
    check(again)


# -- booking ----------------------------------------------------------------------------------------------------


def test_booking_offers_the_best_time_first_and_takes_yes():
    """NEW behaviour (issue 14): a booking offers the single best match first ("Shall I book it?") and "yes"
    books it; before, three times were read out and the caller had to pick one and confirm again."""
    call = Call()
    reply = call.say("Hi, I'd like to book a cleaning please")
    assert reply.say == (
        "The earliest cleaning I have is today at 10:30 AM with Hygienist Patel. Shall I book it?"
    )
    search = call.tools.called("openings")
    assert [s["visit_type"] for s in search] == ["cleaning"] and search[0]["for_patient"] is None
    assert call.stage == "offer" and call.tools.called("book") == []
    reply = call.say("yes please")
    (made,) = booked(call.tools)
    assert (made.start, made.provider, made.kind, made.patient_id) == (
        at(30, 10, 30, month=11),
        "Hygienist Patel",
        "cleaning",
        "P1",
    )
    assert reply.say == (
        "You're all set: a cleaning today at 10:30 AM with Hygienist Patel. Is there anything else I can help with?"
    )
    reply = call.say("no that's all, thanks")
    assert reply.action == "hangup" and "Goodbye" in reply.say


@pytest.mark.parametrize(
    "said",
    ["yeah that one", "the first time you mentioned is fine", "whatever is soonest", "any of them is fine"],
)
def test_the_best_offer_is_taken_however_yes_is_said(said):
    """NEW behaviour (issue 14): "yes" said as callers say it books the time on offer."""
    call = Call()
    call.say("I'd like to book a cleaning")
    call.say(said)
    (made,) = booked(call.tools)
    assert made.start == at(30, 10, 30, month=11)


def test_alternatives_are_given_when_asked_and_chosen_by_position():
    """Asked for other times, the receptionist reads the next ones; "the second one" is the second of those it
    just read, and it is booked; asking again moves on to later times instead of repeating the same ones."""
    call = Call()
    call.say("book a cleaning")
    reply = call.say("what else do you have")
    assert reply.say == (
        "I also have today at 11 AM with Hygienist Patel or today at 11:30 AM with Hygienist Patel. "
        "Which would you like?"
    )
    again = call.say("none of those work")
    assert again.say.startswith("I also have today at noon") and "11 AM" not in again.say
    call.say("the first one")
    (made,) = booked(call.tools)
    assert made.start == at(30, 12, month=11)


def test_the_second_of_the_alternatives_read_is_booked():
    """ "The second one" after "I also have 11 or 11:30" is 11:30."""
    call = Call()
    call.say("book a cleaning")
    call.say("do you have anything else")
    call.say("the second one")
    (made,) = booked(call.tools)
    assert made.start == at(30, 11, 30, month=11)


def test_booking_honours_a_day_and_part_of_day_preference():
    """ "Next Tuesday afternoon" searches that Tuesday, afternoons only, and offers a time then."""
    call = Call()
    reply = call.say("Can I come in for a cleaning next Tuesday afternoon?")
    wanted = call.tools.called("openings")[0]["wanted"]
    assert dt.date(2026, 12, 8) in wanted.days and wanted.earliest_minute == 12 * 60
    assert (
        reply.say
        == "I have Tuesday December 8th at noon with Hygienist Patel for a cleaning. Would that work?"
    )


def test_booking_a_weekday_searches_that_weekday_in_the_morning():
    """ "A checkup on Thursday morning" is looked for on Thursday, before noon, as a cleaning."""
    call = Call()
    reply = call.say("I need a checkup on Thursday morning")
    query = call.tools.called("openings")[0]
    assert query["visit_type"] == "cleaning"
    assert dt.date(2026, 12, 3) in query["wanted"].days and query["wanted"].latest_minute == 12 * 60
    assert "Thursday December 3rd at 8 AM" in reply.say


def test_a_correction_replaces_the_day():
    """ "Make it Friday instead" searches Friday, not the time on offer."""
    call = Call()
    call.say("I'd like to book a cleaning")
    reply = call.say("make it Friday instead")
    assert "Friday December 4th" in reply.say
    call.say("yes")
    assert booked(call.tools)[0].start.date() == dt.date(2026, 12, 4)


def test_backing_out_ends_the_booking():
    """ "Never mind, I'll check my schedule" ends the flow: nothing booked, no new search."""
    call = Call()
    call.say("I want to book a cleaning")
    reply = call.say("actually never mind, I'll check my schedule")
    assert "No problem" in reply.say and call.stage == "anything_else"
    assert len(call.tools.called("openings")) == 1 and call.tools.called("book") == []


def test_slot_taken_meanwhile_offers_another_time():
    """If the slot was taken between offer and booking, the caller hears so and gets another time."""
    tools = FakeTools()
    call = Call(tools)
    call.say("I'd like to book a cleaning")
    offered = call.state["offers"][0]["unit_id"]
    tools.taken[offered] = -1  # someone else booked it meanwhile
    reply = call.say("yes")
    assert reply.say.startswith("I'm sorry, that time is no longer available.")
    assert reply.say.endswith("Shall I book it?") and call.stage == "offer"
    assert "today at 10:30 AM with Hygienist Moore" in reply.say  # the same time with the other hygienist
    assert call.state["offers"][0]["unit_id"] != offered and booked(tools) == []
    call.say("yes")
    assert len(booked(tools)) == 1


def test_no_slots_queues_a_callback():
    """With nothing open, the caller hears so and a callback is queued for staff to find a time."""
    tools = FakeTools(schedule=[])
    reply = Call(tools).say("I'd like to book a cleaning")
    assert "don't have an opening for a cleaning" in reply.say and "call you" in reply.say
    assert [c["reason"] for c in tools.callbacks] == ["no opening found for a cleaning"]
    assert tools.called("book") == []


def test_a_family_member_is_booked_on_their_own_record():
    """NEW behaviour (issue 14): "for my daughter Emma" books Emma's own record, with the visit type for her
    age (the child's visit), never the parent's."""
    call = Call()
    reply = call.say("I'd like to book a cleaning for my daughter Emma")
    assert "child's checkup and cleaning" in reply.say
    reply = call.say("yes")
    (made,) = booked(call.tools)
    assert made.patient_id == "P3" and made.kind == "child_visit"
    assert reply.say.startswith("All set: Emma's child's checkup and cleaning")


def test_an_unknown_caller_gives_a_name_and_gets_a_new_patient_exam():
    """NEW behaviour (issue 14): an unknown caller is asked for a name, registered, and a new patient asking for
    a checkup is offered the new-patient exam with a dentist, not a hygienist cleaning."""
    tools = FakeTools(patient_id=None)
    call = Call(tools, context(patient_id=None, first_name=None))
    assert (
        call.say("I'd like a checkup, I'm a new patient").say
        == "May I have your first and last name, please?"
    )
    reply = call.say("Jane Smith")
    assert tools.called("register_caller")[0]["first_name"] == "Jane"
    assert tools.called("register_caller")[0]["last_name"] == "Smith"
    assert "new-patient exam" in reply.say and "Dr." in reply.say
    call.say("yes")
    (made,) = booked(tools)
    assert made.kind == "new_patient_exam" and made.patient_id == "N1" and made.minutes == 60


def test_a_patient_is_never_booked_over_their_own_visit():
    """A time the patient already has a visit at is never offered."""
    tools = FakeTools(appointments=[appointment(501, 30, 10, "cleaning", "Hygienist Moore", month=11)])
    call = Call(tools)
    call.say("I need an exam with the dentist")
    offered = [dt.datetime.fromisoformat(o["start"]) for o in call.state["offers"]]
    assert offered and not any(at(30, 9, 31, month=11) <= o < at(30, 11, month=11) for o in offered)
    call.say("yes")
    (made,) = booked(tools)
    assert made.start >= at(30, 11, month=11)


# -- appointments behind the identity check -------------------------------------------------------------------


def test_reading_appointments_needs_the_date_of_birth_first():
    """NEW behaviour (issue 14): caller ID alone never unlocks appointments. Nothing is read out until the date
    of birth on file is confirmed; then the appointments are."""
    tools = FakeTools(appointments=[appointment(501, 3, 9), appointment(502, 10, 14, "exam", "Dr. Chen")])
    call = Call(tools)
    reply = call.say("when is my appointment")
    assert reply.say.startswith("For your security") and "December" not in reply.say
    assert tools.called("upcoming") == [] and call.stage == "ask_dob"
    reply = call.say(DOB)
    assert tools.called("verify_identity") == [{"date_of_birth": BIRTHDAY, "for_patient": "P1"}]
    assert reply.say == (
        "Thank you. You have two upcoming appointments: cleaning on Thursday December 3rd at 9 AM and exam "
        "with the dentist on Thursday December 10th at 2 PM. Is there anything else I can help with?"
    )


def test_a_wrong_date_of_birth_three_times_reads_nothing_and_asks_staff():
    """Three wrong dates of birth: nothing read out, a high callback for staff."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    call.say("when is my appointment")
    for said in ("March 3rd 1990", "March 4th 1990", "March 5th 1990"):
        reply = call.say(said)
        assert "December" not in reply.say
    assert "can't confirm that" in reply.say and tools.called("upcoming") == []
    assert [c["priority"] for c in tools.callbacks] == ["high"]


def test_no_date_of_birth_on_file_reads_nothing_and_offers_a_callback():
    """NEW behaviour (issue 14): with no date of birth on file nothing is read out; staff call back."""
    patients = family()
    patients["P1"] = Record("Margaret", "Ellison", None)
    tools = FakeTools(patients=patients, appointments=[appointment(501, 3, 9)])
    reply = Call(tools).say("when is my appointment")
    assert "not able to confirm your identity" in reply.say and "December" not in reply.say
    assert tools.called("upcoming") == [] and tools.called("verify_identity") == []
    assert len(tools.callbacks) == 1


def test_cancel_asks_for_confirmation_first():
    """A cancellation is confirmed before it is done, after the identity check, and a new time is offered."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    assert call.say("I need to cancel my appointment").say.startswith("For your security")
    reply = call.say("1/21/58")
    assert (
        reply.say
        == "Thank you. Shall I cancel your cleaning on Thursday December 3rd at 9 AM with Hygienist Patel?"
    )
    assert tools.called("cancel") == []
    reply = call.say("yes")
    assert tools.called("cancel") == [{"appointment_id": 501}]
    assert reply.say.startswith("It's cancelled: your cleaning on Thursday December 3rd at 9 AM.")
    assert "book a new time" in reply.say


def test_cancel_declined_keeps_the_appointment():
    """ "No" to "Shall I cancel it?" keeps it."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    call.say("cancel my appointment")
    call.say(DOB)
    reply = call.say("no, actually keep it")
    assert tools.called("cancel") == [] and "leave it as it is" in reply.say


def test_reschedule_offers_a_time_that_suits_and_moves_it():
    """A move, after the identity check, asks when suits, offers a time then, and moves the visit on "yes"."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    call.say("I need to reschedule my cleaning")
    assert call.say("january twenty first nineteen fifty eight").say.startswith(
        "Thank you. What day and time"
    )
    reply = call.say("next Tuesday")
    assert reply.say.startswith("I have Tuesday December 8th at 8 AM with Hygienist Patel")
    assert tools.called("reschedule") == []
    reply = call.say("yes")
    assert tools.called("reschedule")[0]["appointment_id"] == 501
    assert reply.say.startswith("Done. Your cleaning is now on Tuesday December 8th at 8 AM")
    old = next(a for a in tools.appointments if a.id == 501)
    assert old.status == "cancelled"


def test_running_late_tells_staff_and_the_caller_whether_to_come():
    """Running late: staff are told, and the caller hears to come in when within the grace time."""
    tools = FakeTools(appointments=[appointment(501, 30, 11, month=11)])
    call = Call(tools)
    reply = call.say("I'm running about ten minutes late for my appointment")
    assert tools.called("running_late") == [{"minutes": 10}]
    assert "Please come in" in reply.say


# -- information, people, messages -----------------------------------------------------------------------------


def test_hours_question():
    """Hours are answered from the practice's data."""
    reply = Call().say("what are your hours")
    assert reply.say.startswith(f"Our hours are {HOURS}.")


def test_address_is_spoken_with_the_zip_code_digit_by_digit():
    """The address is read with the ZIP code digit by digit, and the directions follow."""
    reply = Call().say("where are you located?")
    assert "1520 Connecticut Avenue Northwest, Washington, DC 2 0 0 3 6." in reply.say
    assert "Dupont Circle Metro" in reply.say


def test_hours_in_the_middle_of_booking_keep_the_booking_going():
    """An information question in the middle of booking is answered and the pending question asked again."""
    call = Call()
    call.say("book a cleaning")
    reply = call.say("wait, what time do you close?")
    assert reply.say.startswith("Our hours are") and reply.say.endswith("Shall I book it?")
    assert call.stage == "offer"
    call.say("yes")
    assert len(booked(call.tools)) == 1


def test_human_when_open_transfers():
    """Asking for a person while open transfers to the team, with no callback."""
    tools = FakeTools()
    reply = Call(tools).say("can I speak to a real person please")
    assert reply.action == "transfer" and "put you through" in reply.say
    assert tools.called("queue_callback") == []


def test_pressing_zero_transfers():
    """Pressing 0 asks for a person: a key is never read as a time."""
    tools = FakeTools()
    reply = Call(tools).say(digits="0")
    assert reply.action == "transfer" and tools.called("openings") == []


def test_human_when_closed_queues_one_callback():
    """Asking for a person after hours queues a callback and names the hours; asking again adds no other."""
    tools = FakeTools()
    call = Call(tools, context(is_open=False, reason="after_hours"))
    reply = call.say("I want to talk to the receptionist")
    assert [(c["reason"], c["priority"]) for c in tools.callbacks] == [
        ("caller asked for a person", "normal")
    ]
    assert reply.action == "listen" and "call you back when we open" in reply.say and HOURS in reply.say
    call.say("operator")
    assert len(tools.callbacks) == 1


def test_message_is_taken_in_the_callers_words():
    """The caller's words are passed on as the message, whole, and it is confirmed."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say("I'd like to leave a message")
    assert reply.say == "Of course. What message would you like me to pass on?"
    reply = call.say("Please tell Dr. Chen I'll be ten minutes late on Thursday.")
    (message,) = tools.messages
    assert "Please tell Dr. Chen I'll be ten minutes late on Thursday." in message["text"]
    assert "passed your message" in reply.say and call.stage == "anything_else"
    assert any("Dr. Chen" in c["reason"] for c in tools.callbacks)  # it reaches Today as a callback


def test_callback_request_carries_what_it_is_about():
    """NEW behaviour (issue 14): asking to be called back asks what it is about, and the callback carries it."""
    tools = FakeTools()
    call = Call(tools)
    assert "What message" in call.say("could someone call me back later").say
    reply = call.say("It's about my crown, it feels loose when I chew.")
    (message,) = tools.messages
    assert message["about"] == "callback" and "crown" in message["text"]
    assert "call you back" in reply.say


def test_billing_questions_go_to_staff():
    """A billing question after hours reaches the billing team as a message in the caller's words; never a
    transfer while closed."""
    tools = FakeTools()
    call = Call(tools, context(is_open=False))
    reply = call.say("I have a question about my bill from November")
    assert reply.action == "listen" and "billing team" in reply.say
    (message,) = tools.messages
    assert message["about"] == "billing" and "bill from November" in message["text"]


def test_cost_and_insurance_questions_are_answered_from_the_practice_file():
    """NEW behaviour (issue 14): costs and insurance are answered from the practice's FAQ (before, always sent
    to staff), and what the answer does not cover goes to the team in the caller's words."""
    tools = FakeTools()
    reply = Call(tools).say("how much does a cleaning cost with my insurance?")
    assert "Delta Dental" in reply.say and "$120 to $180" in reply.say
    assert [m["text"] for m in tools.messages] == ["how much does a cleaning cost with my insurance?"]


@pytest.mark.parametrize("said", ["wait, am I talking to a robot?", "is this a real person?"])
def test_robot_question_gets_an_honest_answer(said):
    """Asked whether it is a robot, the receptionist says it is the automated assistant, not a person."""
    reply = Call().say(said)
    assert reply.say.startswith("Yes, I'm the automated assistant for Brightsmile Dental, not a person.")
    assert reply.say.endswith("How can I help you today?") and reply.action == "listen"


@pytest.mark.xfail(strict=True, reason="triage gap: any bleeding is read as bleeding after an extraction")
def test_mild_gum_bleeding_with_an_advice_question_is_declined_not_triaged():
    """The old engine's phrasing: a little gum bleeding and a question about ibuprofen is a request for advice
    (declined, an exam offered), not an urgent dental problem with extraction aftercare."""
    reply = Call().say("my gum is bleeding a little, should I take ibuprofen?")
    assert reply.say.startswith("I can't give medical advice over the phone") and "gauze" not in reply.say


def test_medical_advice_is_declined():
    """A request for medical advice gets the fixed line and an offer to book an exam, no advice."""
    call = Call()
    reply = call.say("should I take ibuprofen or tylenol before my cleaning?")
    assert reply.say.startswith("I can't give medical advice over the phone")
    assert "exam" in reply.say and call.tools.called("book") == []


# -- opt-out and emergencies ------------------------------------------------------------------------------------


def test_opt_out_is_immediate_once_and_the_call_goes_on():
    """An opt-out calls the tool at once and only once, apologises, and the caller can still be served."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say("please stop calling me")
    assert tools.called("opt_out") == [{}] and tools.opted_out
    assert reply.say.startswith("I'm very sorry for the calls. I've taken you off our call and message lists")
    assert reply.action == "listen"
    assert call.say("what are your hours").say.startswith("Our hours are")
    again = call.say("and take me off your list")
    assert len(tools.called("opt_out")) == 1 and again.say.startswith("I've already taken care of that")


def test_opt_out_with_another_request_does_both():
    """ "Stop calling me and cancel my appointment" opts out, then starts the cancellation (behind the date of
    birth, NEW in issue 14)."""
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    reply = call.say("Stop calling me and cancel my appointment")
    assert tools.called("opt_out") == [{}]
    assert reply.say.startswith("I'm very sorry for the calls.") and "date of birth" in reply.say
    call.say(DOB)
    assert call.stage == "confirm_cancel"


def test_opt_out_while_booking():
    """An opt-out in the middle of booking is honoured at once, and nothing is booked."""
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
        "my lips are swelling up since I took the antibiotic",
        "the bleeding won't stop after my extraction",
        "my face is swollen and it's hard to swallow",
    ],
)
def test_medical_emergency_wins_and_ends_the_call(said):
    """A medical emergency is flagged for staff, the caller told to dial 911, and the call ends."""
    tools = FakeTools()
    reply = Call(tools).say(said)
    assert [f["summary"] for f in tools.called("flag_emergency")] == [f"caller said: {said}"]
    assert "dial 9 1 1" in reply.say and reply.action == "hangup"
    assert tools.called("book") == [] and tools.called("openings") == []


@pytest.mark.parametrize(
    "said, first_aid",
    [
        ("I have a dental emergency", "warm salt water"),
        ("my son knocked out his front tooth", "cup of milk"),
        ("it's an emergency, my tooth is killing me", "warm salt water"),
    ],
)
def test_urgent_dental_problem_gets_a_same_day_visit_not_911(said, first_aid):
    """NEW behaviour (issue 14): an urgent dental problem while open is not told to dial 911: it hears the
    practice's first-aid line and is offered the earliest same-day emergency exam."""
    tools = FakeTools()
    call = Call(tools)
    reply = call.say(said)
    assert "9 1 1" not in reply.say and tools.called("flag_emergency") == []
    assert first_aid in reply.say and "today" in reply.say and "emergency exam" in reply.say
    call.say("yes")
    (made,) = booked(tools)
    assert made.kind == "emergency_exam" and made.start.date() == NOW.date()


def test_urgent_dental_problem_after_hours_gets_the_on_call_line_and_an_urgent_callback():
    """NEW behaviour (issue 14): after hours an urgent dental problem hears the on-call dentist's number and
    staff get an urgent callback; it is never told to dial 911."""
    tools = FakeTools()
    reply = Call(tools, context(is_open=False)).say("my filling fell out and my tooth really hurts")
    assert "on-call dentist" in reply.say and "9 1 1" not in reply.say
    assert [c["priority"] for c in tools.callbacks] == ["urgent"]


def test_emergency_in_the_middle_of_a_message():
    """An emergency said instead of a message is still an emergency, and no message is taken."""
    tools = FakeTools()
    call = Call(tools)
    call.say("leave a message")
    reply = call.say("actually I'm having chest pain right now")
    assert reply.action == "hangup" and "dial 9 1 1" in reply.say and tools.called("take_message") == []


def test_emergency_said_even_if_the_tool_fails():
    """The caller is told to dial 911 even when flagging the emergency fails."""
    tools = FakeTools(fail={"flag_emergency": RuntimeError("store down")})
    reply = Call(tools).say("I can't breathe")
    assert "dial 9 1 1" in reply.say and reply.action == "hangup"
    assert "alerted" not in reply.say  # nobody was alerted, so it is not claimed


# -- silence, misunderstanding, failures ------------------------------------------------------------------------


def test_silences_reprompt_then_end_the_call():
    """A silence repeats the pending question, the next asks if the caller is there, the third ends the call."""
    call = Call()
    assert call.say().say == "How can I help you today?"
    assert call.say().say == "Are you still there? How can I help you today?"
    reply = call.say()
    assert reply.action == "hangup" and "haven't heard anything" in reply.say


def test_silence_count_resets_when_the_caller_speaks():
    """Silences must be consecutive to end the call."""
    call = Call()
    call.say()
    call.say()
    call.say("what are your hours")
    assert call.say().action == "listen" and call.say().action == "listen"


def test_three_misunderstandings_transfer_when_open():
    """Three garbage turns in a row transfer to the team while open."""
    call = Call()
    first = call.say("purple monkey dishwasher")
    assert first.say.startswith("Sorry, I didn't quite get that. I can book, move or cancel an appointment")
    assert call.say("blah blah").action == "listen"
    reply = call.say("zxcv")
    assert reply.action == "transfer" and "put you through" in reply.say


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
    tools = FakeTools(appointments=[appointment(501, 3, 9)])
    call = Call(tools)
    reply = call.say("cancel my appointment", confidence=0.2)
    assert reply.say.startswith("Sorry, I didn't quite get that.") and call.stage == "menu"
    assert tools.names() == []
    assert call.say("cancel my appointment", confidence=0.9).say.startswith("For your security")


def test_low_confidence_still_hears_an_emergency():
    """Safety comes first: an emergency heard with low confidence is still told to dial 911."""
    reply = Call().say("I can't breathe", confidence=0.2)
    assert "dial 9 1 1" in reply.say and reply.action == "hangup"


@pytest.mark.parametrize("key", ["7", "5", "#", "12"])
def test_keys_where_speech_was_expected_are_a_misunderstanding(key):
    """A key that is not a choice, pressed at an open question, reprompts with the menu (never read as a time)."""
    tools = FakeTools()
    reply = Call(tools).say(digits=key)
    assert reply.say.startswith("Sorry, I didn't quite get that.") and reply.action == "listen"
    assert tools.called("openings") == []


def test_keying_911_is_an_emergency():
    """911 pressed on the keypad is an emergency, as said."""
    tools = FakeTools()
    reply = Call(tools).say(digits="911")
    assert "dial 9 1 1" in reply.say and reply.action == "hangup" and len(tools.called("flag_emergency")) == 1


def test_a_key_picks_an_offered_time():
    """Pressing 1 while a time is on offer takes it."""
    call = Call()
    call.say("book a cleaning")
    call.say(digits="1")
    assert booked(call.tools)[0].start == at(30, 10, 30, month=11)


def test_tool_error_is_said_politely():
    """A ToolError is read out and the call goes on instead of failing."""
    tools = FakeTools(fail={"upcoming": ToolError("I couldn't look up your appointments just now.")})
    call = Call(tools)
    call.say("when is my appointment")
    reply = call.say(DOB)
    assert "I couldn't look up your appointments just now." in reply.say
    assert reply.say.endswith("Is there anything else I can help with?") and reply.action == "listen"


def test_unexpected_errors_never_escape_when_open():
    """An unexpected exception inside a tool becomes an apology and a transfer while open."""
    tools = FakeTools(fail={"openings": RuntimeError("boom")})
    call = Call(tools, engine=OfflineEngine())
    reply = call.say("book a cleaning")
    assert reply.say.startswith("I'm sorry, I'm having trouble with that.") and reply.action == "transfer"


def test_unexpected_errors_never_escape_when_closed():
    """After hours, an unexpected exception becomes an apology and a message for the team."""
    tools = FakeTools(fail={"openings": RuntimeError("boom")})
    call = Call(tools, context(is_open=False), engine=OfflineEngine())
    reply = call.say("book a cleaning")
    assert reply.action == "listen" and call.stage == "message" and "message" in reply.say
    call.say("Please call me to book a cleaning next week.")
    assert "cleaning next week" in tools.messages[0]["text"]


@pytest.mark.parametrize(
    "junk",
    [
        {"stage": "offer", "offers": [{"id": None, "start": "yesterday"}, 5], "misses": "lots", "pref": []},
        {"v": 2, "stage": "nowhere", "offers": "none", "frame": 7},
        {"v": 1, "stage": "offer", "offers": [{"unit_id": 1, "start": "2026-12-01T09:00:00-05:00"}]},
    ],
)
def test_corrupt_state_is_not_trusted(junk):
    """A state with junk in it is read leniently: the caller's question is still answered."""
    engine = OfflineEngine(raise_errors=True)
    reply = engine.respond(context(), FakeTools(), junk, Utterance("what are your hours"))
    check(reply)
    assert reply.say.startswith("Our hours are")


def test_goodbye_hangs_up():
    """Goodbye ends the call politely."""
    reply = Call().say("nothing, thanks, bye")
    assert reply.action == "hangup" and reply.say.endswith("Goodbye.")


def test_repeat_says_the_last_reply_again():
    """ "Can you repeat that" repeats the last reply, and the offer still stands."""
    call = Call()
    offer = call.say("book a cleaning").say
    assert call.say("sorry, can you repeat that?").say == offer
    assert call.stage == "offer"


# -- opt-out when storage fails ----------------------------------------------------------------------------------


def test_an_opt_out_nothing_could_record_is_tried_again():
    """If the opt-out, the message and the callback are all refused, the caller is told so, and saying it
    again tries again."""
    tools = FakeTools(fail={"opt_out": REFUSE, "take_message": REFUSE, "queue_callback": REFUSE})
    call = Call(tools)
    reply = call.say("stop calling me")
    assert "couldn't record that" in reply.say and reply.action == "listen"
    call.say("stop calling me")
    assert len(tools.called("opt_out")) == 2


def test_an_opt_out_falls_back_to_a_message_for_staff():
    """Opt-out refused: a high-priority message asks staff to take the caller off every list, once."""
    tools = FakeTools(fail={"opt_out": REFUSE})
    call = Call(tools)
    assert "asked our team" in call.say("stop calling me").say
    assert [(m["priority"], "stop all calls" in m["text"]) for m in tools.messages] == [("high", True)]
    call.say("stop calling me")
    assert len(tools.called("opt_out")) == 1 and len(tools.messages) == 1


def test_an_opt_out_falls_back_to_a_callback_for_staff():
    """Opt-out and message refused: a high-priority callback asks staff to take the caller off every list."""
    tools = FakeTools(fail={"opt_out": REFUSE, "take_message": REFUSE})
    call = Call(tools)
    assert "asked our team" in call.say("stop calling me").say
    assert tools.called("queue_callback")[0]["priority"] == "high"
    call.say("stop calling me")
    assert len(tools.called("opt_out")) == 1


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
    "January 21st 1958",
    "for my daughter Emma",
    "my son",
    "not Monday",
    "I'm running late",
    "my tooth hurts",
    "never mind",
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
    "caller",
    "openings",
    "book",
    "upcoming",
    "reschedule",
    "cancel",
    "verify_identity",
    "identify",
    "register_caller",
    "register_dependent",
    "take_message",
    "queue_callback",
    "running_late",
    "set_contact_preference",
    "opt_out",
    "flag_emergency",
    "note",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.lists(utterances, min_size=1, max_size=8),
    is_open=st.booleans(),
    known=st.booleans(),
    with_appointments=st.booleans(),
    refusing=st.lists(st.sampled_from(TOOL_METHODS), max_size=3),
    reason=st.sampled_from(["routine", "after_hours", "transfer_failed"]),
)
def test_engine_never_raises_and_always_answers(
    sequence, is_open, known, with_appointments, refusing, reason
):
    """For any speech, keys, silences and tool refusals the engine answers, with a valid action and JSON state;
    no appointment is read, moved or cancelled for a patient whose date of birth was not confirmed, and once
    the opt-out (or its message or callback for staff) is recorded it is never asked for again."""
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
    said = []
    for heard in sequence:
        reply = engine.respond(ctx, tools, json.loads(json.dumps(reply.state)), heard)
        check(reply)
        said.append(reply.say)
        if reply.action != "listen":
            break
    if not {"opt_out", "take_message", "queue_callback"} <= set(refusing):
        assert len(tools.called("opt_out")) <= 1
    if "P1" not in tools.verified:  # the date of birth was never confirmed: nothing read, moved or cancelled
        assert all(a.status == "booked" for a in tools.appointments if a.id in (501, 502))
        assert not any("December 3rd at 9 AM" in s or "December 10th at 2 PM" in s for s in said)
