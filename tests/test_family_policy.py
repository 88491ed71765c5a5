"""Who "my son", "my daughter", "my husband" is among the caller's family on file (`policy.family`), and a
booking undone in the same call leaving no appointment in the call's outcome (`voice.callrecord`)."""

from __future__ import annotations

from receptionist.conversation.nlu import Person
from receptionist.conversation.policy.family import members_like
from receptionist.conversation.types import CallerView, Member
from receptionist.voice.callrecord import apply_event

EMMA = Member("P110", "Emma", 7, True)
NOAH = Member("P111", "Noah", 12, True)
SAM = Member("P112", "Sam", 9, True)  # a name either a boy or a girl may have
MIKE = Member("P109", "Mike", 43, True)


def caller(*family: Member) -> CallerView:
    return CallerView("P108", "Sarah", False, 41, True, family)


def test_a_son_among_a_girl_and_a_boy_is_the_boy():
    assert members_like(caller(EMMA, NOAH, MIKE), Person("son")) == [NOAH]
    assert members_like(caller(EMMA, NOAH, MIKE), Person("daughter")) == [EMMA]


def test_a_name_either_may_have_stays_and_a_child_is_still_asked_about():
    assert members_like(caller(EMMA, NOAH, SAM), Person("son")) == [NOAH, SAM]
    assert members_like(caller(EMMA, NOAH), Person("child")) == [EMMA, NOAH]


def test_the_age_said_decides_on_its_own():
    assert members_like(caller(EMMA, NOAH), Person("son", age=7)) == [EMMA]


def test_no_child_of_that_sex_keeps_every_child():
    """ "my son" when only Emma is on file: not narrowed to nobody (the dialogue asks)."""
    assert members_like(caller(EMMA), Person("son")) == [EMMA]


def booked(start: str) -> dict:
    return {"action": "booked", "start": start, "kind": "cleaning", "patient_id": "P106", "minutes": 60}


def test_a_booking_undone_in_the_same_call_is_no_appointment():
    found: dict = {}
    apply_event(found, booked("2026-12-15T08:00:00-05:00"))
    apply_event(found, {**booked("2026-12-15T08:00:00-05:00"), "action": "cancelled"})
    assert found["appointment"] is None


def test_cancelling_another_appointment_is_a_cancellation():
    found: dict = {}
    apply_event(found, booked("2026-12-15T08:00:00-05:00"))
    apply_event(found, {**booked("2026-12-17T14:00:00-05:00"), "action": "cancelled"})
    assert found["appointment"]["action"] == "cancelled"
    assert found["appointment"]["start"] == "2026-12-17T14:00:00-05:00"
