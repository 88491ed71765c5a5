"""The LLM engine turn by turn: greeting in code, streaming, fallback state, identity over the real store."""

from __future__ import annotations

import datetime as dt

import openai
import pytest
from sqlalchemy import select

from receptionist.config.practice import load_practice
from receptionist.conversation.llm import LLMEngine
from receptionist.conversation.store_tools import StoreTools
from receptionist.conversation.types import CallContext, PracticeFacts, ToolError, Utterance
from receptionist.patients.importer import import_patients
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.store import Patient
from tests.fake_openai import FakeOpenAI, Step, call, say
from tests.voice_helpers import MONDAY_10AM, SATURDAY_10AM

FACTS = PracticeFacts(
    practice_name="Brightsmile Dental",
    location_name="Brightsmile Dental Dupont Circle",
    address="1520 Connecticut Avenue Northwest, Washington, DC 20036",
    hours_text="Monday to Friday, 8 AM to 5 PM",
    phone="+12025550100",
    timezone="America/New_York",
)


def context(
    *,
    first_name: str | None = "Tom",
    patient_id: str | None = "P2",
    now: dt.datetime = MONDAY_10AM,
    direction: str = "inbound",
    reason: str = "routine",
) -> CallContext:
    return CallContext(
        call_sid="CA" + "1" * 32,
        facts=FACTS,
        now=now,
        is_open=now.weekday() < 5,
        caller_phone="+12025550177",
        patient_id=patient_id,
        first_name=first_name,
        direction=direction,
        reason=reason,
        practice=load_practice(),
        location=load_practice().main,
    )  # type: ignore[arg-type]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def engine(fake):
    client = openai.OpenAI(api_key="test", base_url=fake.url, max_retries=0, timeout=2)
    yield LLMEngine(client, "fake-model", timeout_s=1.5)
    client.close()


@pytest.fixture
def tools(store, tmp_path):
    (tmp_path / "p.csv").write_text(
        "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,"
        "opted_out,date_of_birth\nP2,Tom,Novak,202-555-0177,,20009,yes,yes,no,1980-03-03\n"
        "P5,Ann,Lee,202-555-0199,,20009,yes,yes,no,\n"
    )
    import_patients(store, tmp_path / "p.csv", progress=False, today=MONDAY_10AM.date())
    ensure_schedule(store, load_practice(), MONDAY_10AM.date(), weeks=2)
    return StoreTools(
        store,
        load_practice().main,
        call_sid="CA" + "1" * 32,
        caller_phone="+12025550177",
        patient_id="P2",
        now=lambda: MONDAY_10AM,
    )


@pytest.mark.parametrize(
    ("ctx", "words"),
    [
        (context(), ["Hi Tom, thank you for calling Brightsmile Dental.", "automated assistant"]),
        (
            context(first_name=None, patient_id=None),
            ["Thank you for calling Brightsmile Dental.", "automated assistant"],
        ),
        (context(now=SATURDAY_10AM), ["automated assistant", "closed", "Monday to Friday"]),
        (
            context(direction="outbound", reason="reactivation_high"),
            ["automated assistant calling from", "stop calling"],
        ),
        (context(reason="transfer_failed"), ["sorry", "automated assistant"]),
    ],
)
def test_greeting_is_written_in_code(engine, fake, ctx, words):
    """Every call opens with the automated-assistant disclosure, from code, with no model request."""
    reply = engine.start(ctx, tools=None)  # type: ignore[arg-type]
    assert all(w in reply.say for w in words) and reply.action == "listen"
    assert fake.requests == [] and reply.state["history"][0]["role"] == "assistant"


def test_tokens_stream_to_the_transport_as_they_arrive(engine, fake, tools):
    """`on_text` receives the reply in pieces while it streams; the Reply has the whole text."""
    fake.play(say("We are open Monday to Friday."))
    pieces: list[str] = []
    state = engine.start(context(), tools).state
    reply = engine.respond(
        context(), tools, state, Utterance(speech="when are you open"), on_text=pieces.append
    )
    assert len(pieces) > 1 and "".join(pieces) == reply.say == "We are open Monday to Friday."
    assert [m["role"] for m in reply.state["history"]] == ["assistant", "user", "assistant"]


def test_fallback_keeps_its_own_state_across_turns(engine, fake, tools):
    """When the model fails a turn, the offline engine answers it and keeps the turns that answer its own
    question (the time it offered), so the booking it started ends in one voice."""
    fake.play(Step(status=500), Step(status=500))
    state = engine.start(context(), tools).state
    first = engine.respond(context(), tools, state, Utterance(speech="I'd like to book a cleaning"))
    assert first.state["offline"]["stage"] == "offer", first.say
    second = engine.respond(context(), tools, first.state, Utterance(speech="yes please"))
    assert len(fake.requests) == 1  # the model never saw the answer to the offline engine's question
    assert "all set" in second.say.lower()
    assert [e["action"] for e in tools.events if e["action"] == "booked"] == ["booked"]
    assert second.state["offline"]["stage"] == "anything_else"


def test_dtmf_reaches_the_model_as_keys(engine, fake, tools):
    """Keys pressed are passed on as such."""
    fake.play(say("You pressed two."))
    state = engine.start(context(), tools).state
    engine.respond(context(), tools, state, Utterance(digits="2"))
    assert fake.requests[0]["messages"][-1] == {"role": "user", "content": "(pressed 2)"}


def test_two_silences_queue_a_callback_and_end(engine, fake, tools):
    """Silence is handled in code: a reprompt, then a callback and goodbye."""
    state = engine.start(context(), tools).state
    first = engine.respond(context(), tools, state, Utterance())
    second = engine.respond(context(), tools, first.state, Utterance())
    assert first.action == "listen" and second.action == "hangup"
    assert [e["action"] for e in tools.events] == ["callback"] and fake.requests == []


def test_verify_identity_compares_the_imported_date_of_birth(tools, store):
    """The importer reads the optional date_of_birth column; only the caller's own date verifies."""
    with store.sessions() as s:
        assert s.scalar(select(Patient.date_of_birth).where(Patient.id == "P2")) == dt.date(1980, 3, 3)
    assert tools.verify_identity(dt.date(1980, 3, 3)) is True
    assert tools.verify_identity(dt.date(1980, 3, 4)) is False


def test_verify_identity_refuses_without_a_date_on_file(store, tools):
    """No date of birth on file (or no record): identity cannot be confirmed by phone."""
    other = StoreTools(
        store,
        load_practice().main,
        call_sid="CA" + "2" * 32,
        caller_phone="+12025550199",
        patient_id="P5",
        now=lambda: MONDAY_10AM,
    )
    with pytest.raises(ToolError):
        other.verify_identity(dt.date(1980, 3, 3))


def test_identity_attempts_are_limited(engine, fake, tools):
    """After three wrong dates the tool stops checking."""
    fake.play(
        *[
            step
            for _ in range(4)
            for step in (call("verify_identity", date_of_birth="1970-01-01"), say("That doesn't match."))
        ]
    )
    state = engine.start(context(), tools).state
    for _ in range(4):
        state = engine.respond(context(), tools, state, Utterance(speech="January 1st 1970")).state
    last_tool = [m for m in fake.requests[-1]["messages"] if m["role"] == "tool"][-1]["content"]
    assert "Too many attempts" in last_tool and not state.get("identified")
