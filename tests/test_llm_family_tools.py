"""The LLM engine's tools over the real store: family members by first name, exclusions, providers, and the
identity check per person. The model can only reach the caller's own family, and only after that person's
date of birth is confirmed in this call."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from receptionist.config.practice import load_practice
from receptionist.conversation.llm_tools import Executor
from receptionist.conversation.store_tools import StoreTools
from receptionist.patients.importer import import_patients
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.store import Appointment
from tests.test_llm_engine import context
from tests.voice_helpers import MONDAY_10AM

PATIENTS = (
    "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out,date_of_birth,"
    "guarantor_id\n"
    "P2,Tom,Novak,202-555-0177,,20009,yes,yes,no,1980-03-03,P2\n"
    "P7,Emma,Novak,,,20009,yes,yes,no,2018-05-01,P2\n"
    "P9,Margaret,Ellison,202-555-0188,,20009,yes,yes,no,1950-01-01,P9\n"
)


@pytest.fixture
def executor(store, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    import_patients(store, tmp_path / "p.csv", progress=False, today=MONDAY_10AM.date())
    practice = load_practice()
    ensure_schedule(store, practice, MONDAY_10AM.date(), weeks=2)
    tools = StoreTools(
        store,
        practice.main,
        practice=practice,
        call_sid="CA" + "2" * 32,
        caller_phone="+12025550177",
        patient_id="P2",
        now=lambda: MONDAY_10AM,
    )
    return Executor(context(), tools, {})


def run(executor: Executor, tool: str, **args) -> dict:
    import json

    return executor.run(tool, json.dumps(args))


def test_a_child_on_the_callers_record_is_booked_on_her_own_record(executor, store):
    found = run(executor, "find_open_slots", kind="cleaning", for_person="Emma")
    assert found["slots"], found
    booked = run(executor, "book_appointment", slot_id=found["slots"][0]["slot_id"])
    assert "booked" in booked, booked
    with store.sessions() as s:
        appt = s.scalars(select(Appointment).where(Appointment.status == "booked")).one()
    assert appt.patient_id == "P7" and appt.kind == "child_visit"  # a child's visit type, on her record


def test_someone_outside_the_family_is_out_of_reach(executor, store):
    for tool, args in (
        ("find_open_slots", {"kind": "cleaning", "for_person": "Margaret"}),
        ("verify_identity", {"date_of_birth": "1950-01-01", "for_person": "Margaret"}),
        ("my_appointments", {"for_person": "Margaret"}),
    ):
        assert "no family member" in run(executor, tool, **args)["error"]
    assert executor.tools.verified == frozenset()


def test_a_family_members_appointments_need_her_own_date_of_birth(executor):
    found = run(executor, "find_open_slots", kind="cleaning", for_person="emma")
    run(executor, "book_appointment", slot_id=found["slots"][0]["slot_id"])
    executor.st["appts"] = []  # a later turn: only what my_appointments returns may be acted on
    assert "verify" in run(executor, "my_appointments", for_person="Emma")["error"]
    assert run(executor, "verify_identity", date_of_birth="1980-03-03", for_person="Emma") == {
        "verified": False
    }
    assert run(executor, "verify_identity", date_of_birth="2018-05-01", for_person="Emma") == {
        "verified": True
    }
    listed = run(executor, "my_appointments", for_person="Emma")["appointments"]
    assert len(listed) == 1
    assert not executor.st.get("identified")  # Emma's date of birth says nothing about Tom's own record
    assert "verify" in run(executor, "my_appointments")["error"]


def test_exclusions_times_and_providers_hold_for_every_slot(executor):
    found = run(
        executor,
        "find_open_slots",
        kind="exam",
        not_weekdays=["monday", "tuesday"],
        after_time="14:00",
        provider="Chen",
    )
    assert len(found["slots"]) == 3, found
    for slot in executor.st["slots"]:
        assert "Dr. Chen" in slot["when"]
        assert not slot["when"].startswith(("today", "tomorrow"))  # Monday 30 November and Tuesday
    assert all(
        any(t in slot["when"] for t in ("2 PM", "2:30 PM", "3 PM", "3:30 PM", "4 PM", "4:30 PM"))
        for slot in executor.st["slots"]
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"kind": "exam", "after_time": "2pm"}, "HH:MM"),
        ({"kind": "exam", "not_weekdays": "monday"}, "list"),
        ({"kind": "exam", "not_weekdays": ["someday"]}, "one of"),
        ({"kind": "exam", "provider": "Dr. Smith"}, "provider must be one of"),
        ({"kind": "exam", "not_on": ["next friday"]}, "YYYY-MM-DD"),
    ],
)
def test_bad_exclusions_are_errors_for_the_model(executor, args, error):
    assert error in run(executor, "find_open_slots", **args)["error"]


def test_the_day_excluded_is_never_offered(executor):
    first = run(executor, "find_open_slots", kind="exam")["slots"]
    assert first
    day = dt.date(2026, 11, 30)
    again = run(executor, "find_open_slots", kind="exam", not_on=[day.isoformat()])["slots"]
    assert again and all("today" not in s["when"] for s in again)


def test_a_role_means_that_roles_providers_for_the_visit_type(executor):
    # Emma's child's visit is with Dr. Rivera or Hygienist Moore: "the hygienist" leaves Moore
    run(executor, "find_open_slots", kind="cleaning", for_person="Emma", provider="the hygienist")
    assert executor.st["slots"] and all("Hygienist Moore" in s["when"] for s in executor.st["slots"])


def test_a_new_patient_asking_for_a_cleaning_gets_a_new_patient_exam_with_a_dentist(executor):
    run(executor, "find_open_slots", kind="cleaning")  # Tom has no visit on file
    assert executor.st["slots"] and all("Dr." in s["when"] for s in executor.st["slots"])


@pytest.fixture
def fake():
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


def test_the_model_helps_with_family_on_file_and_never_sees_anyone_else(executor, fake):
    import openai

    from receptionist.conversation.llm import LLMEngine
    from receptionist.conversation.types import Utterance
    from tests.fake_openai import say

    client = openai.OpenAI(api_key="test", base_url=fake.url, max_retries=0, timeout=2)
    engine = LLMEngine(client, "fake-model", timeout_s=1.5)
    fake.play(say("Of course. What day suits Emma?"))
    state = engine.start(context(), executor.tools).state
    first = engine.respond(
        context(), executor.tools, state, Utterance(speech="my daughter Emma needs a cleaning")
    )
    assert len(fake.requests) == 1
    system = fake.requests[0]["messages"][0]["content"]
    assert "Family members on the caller's record (use for_person): Emma." in system
    assert "Margaret" not in system and "2018" not in system  # first names only, never another family
    second = engine.respond(
        context(),
        executor.tools,
        first.state,
        Utterance(speech="and when is Margaret Ellison's appointment?"),
    )
    assert len(fake.requests) == 1  # answered in code
    assert "privacy" in second.say and "Margaret" not in second.say
    client.close()
