"""Whole calls through the simulator (which signs like Twilio; the app checks with the real RequestValidator)."""

import logging
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from receptionist.simulation.simulator import StaffScript
from receptionist.store import Appointment, Call, Callback, CallEvent, Patient, Slot
from tests.voice_helpers import (
    MAIN,
    MARGARET,
    OPTED,
    SATURDAY_10AM,
    STRANGER,
    TOM,
    load_small_practice,
    simulator_for,
)


@pytest.fixture
def practice(store, redis_client, tmp_path):
    load_small_practice(store, redis_client, tmp_path)


def rows(store, model, *where):
    with store.sessions() as s:
        return s.scalars(select(model).where(*where)).all()


def test_high_tier_patient_reaches_staff_with_a_whisper(services, practice, store):
    """A high-value caller in opening hours is put through; staff hear who it is and press 1 first."""
    call = simulator_for(services).call(from_=MARGARET, to=MAIN)
    assert call.ended_by == "hangup", call.transcript
    assert call.dialed == ["+12025550111", "+12025550112"]
    whisper = " ".join(call.whisper)
    assert "Margaret" in whisper and "years" in whisper and "Press 1" in whisper
    assert "last visit" in whisper
    assert call.outcome["route"] == "staff" and call.outcome["transfer"] == "accepted"
    record = rows(store, Call, Call.sid == call.call_sid)[0]
    assert (record.direction, record.tier, record.patient_id, record.status) == (
        "inbound",
        "high",
        "P1",
        "completed",
    )


@pytest.mark.parametrize("staff", ["decline", "no-answer", "busy"])
def test_failed_transfer_never_drops_the_caller(services, practice, store, staff):
    """No key, another key, busy or no answer: the AI apologises and takes over; a high-priority callback is queued."""
    call = simulator_for(services).call(
        from_=MARGARET, to=MAIN, says=["what are your hours", "bye"], staff=StaffScript(staff)
    )
    assert call.outcome["transfer"] == {"decline": "declined"}.get(staff, staff)
    assert call.outcome["callback_queued"] is True
    spoken = " ".join(t["receptionist"] for t in call.turns).lower()
    assert "sorry" in spoken and "monday to friday" in spoken
    callbacks = rows(store, Callback, Callback.call_sid == call.call_sid)
    assert [c.priority for c in callbacks] == ["high"]


def test_high_tier_after_hours_gets_the_ai(services, practice):
    """Outside opening hours even a high-value caller is served by the AI receptionist (route closed)."""
    call = simulator_for(services, now=SATURDAY_10AM).call(from_=MARGARET, to=MAIN, says=["bye"])
    assert call.dialed == [] and call.outcome["route"] == "closed"
    assert "Margaret" in call.turns[0]["receptionist"]


def test_low_tier_patient_books_a_cleaning(services, practice, store):
    """A routine caller books a cleaning with the AI: the appointment exists and its slot is taken."""
    call = simulator_for(services).call(
        from_=TOM, to=MAIN, says=["I'd like to book a cleaning", "the first one", "yes", "no thanks"]
    )
    assert call.outcome["route"] == "ai" and call.dialed == []
    assert call.outcome["appointment"]["action"] == "booked"
    booked = rows(store, Appointment, Appointment.patient_id == "P2", Appointment.status == "booked")
    assert len(booked) == 1 and booked[0].kind == "cleaning"
    slot = rows(store, Slot, Slot.id == booked[0].slot_id)[0]
    assert slot.appointment_id == booked[0].id
    import datetime as dt

    start = booked[0].start if booked[0].start.tzinfo else booked[0].start.replace(tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(call.outcome["appointment"]["start"]) == start


def test_unknown_caller_asks_for_hours(services, practice):
    """An unknown caller is answered by the AI and hears the practice's hours."""
    call = simulator_for(services).call(from_=STRANGER, to=MAIN, says=["what are your hours", "thanks bye"])
    assert call.outcome["route"] == "ai"
    assert "Monday to Friday" in call.turns[1]["receptionist"]


def test_opted_out_patient_is_still_served(services, practice):
    """A caller who opted out of outreach is routed normally when they call in."""
    call = simulator_for(services).call(from_=OPTED, to=MAIN)
    assert call.outcome["route"] == "staff" and call.outcome["transfer"] == "accepted"


def test_forged_signature_is_rejected_and_stores_nothing(services, practice, store):
    """A request signed with the wrong token gets 403 and leaves no record."""
    call = simulator_for(services, auth_token="wrong-token").call(from_=TOM, to=MAIN, says=["hi"])
    assert call.ended_by == "error" and call.http_errors[0][1] == 403
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Call)) == 0


def test_unsigned_request_is_rejected(services, practice, store):
    """A request without X-Twilio-Signature is refused."""
    from receptionist.web import create_app

    client = create_app(services=services).test_client()
    r = client.post("/voice/inbound", data={"CallSid": "CA1", "From": TOM, "To": MAIN})
    assert r.status_code == 403
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Call)) == 0


def test_unknown_number_called_gets_a_polite_message(services, practice):
    """A call to a number the practice does not own gets a polite message and hangs up."""
    call = simulator_for(services).call(from_=TOM, to="+19995550100")
    assert call.ended_by == "hangup" and "not set up" in call.turns[0]["receptionist"]


def test_twiml_is_a_speech_gather_followed_by_a_redirect(services, practice):
    """The AI's TwiML is a speech Gather with a Redirect after it for silence."""
    sim = simulator_for(services)
    call = sim.call(from_=TOM, to=MAIN)
    first_url, _ = call.requests[0]
    assert first_url.endswith("/voice/inbound")
    from receptionist.web import create_app

    client = create_app(services=services).test_client()
    params = {"CallSid": "CA" + "1" * 32, "From": TOM, "To": MAIN, "AccountSid": "AC" + "0" * 32}
    url = services.settings.base_url + "/voice/inbound"
    r = client.post("/voice/inbound", data=params, headers={"X-Twilio-Signature": sim.sign(url, params)})
    root = ET.fromstring(r.data)
    assert root.tag == "Response"
    gather, redirect = list(root)
    assert gather.tag == "Gather" and "speech" in gather.get("input")
    # both name the state they need: the greeting's save was the call state's first (`CallStates.load`)
    assert gather.get("action").endswith("/voice/gather?rev=1") and gather.find("Say").text
    assert redirect.tag == "Redirect" and redirect.text.endswith("/voice/gather?rev=1")


def test_silence_and_garbage_get_sensible_replies(services, practice):
    """Silence, garbled speech and stray keys each get a reply; the call does not break."""
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=[None, "blorf snark wibble"], digits=["7"])
    assert call.ended_by in ("caller", "hangup")
    assert all(t["receptionist"] for t in call.turns)
    assert not call.http_errors


def test_emergency_tells_the_caller_to_dial_911(services, practice, store):
    """An emergency is caught: the caller is told to dial 911 and staff get an urgent callback."""
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=["I have chest pain and can't breathe"])
    assert "dial 9 1 1" in call.turns[-1]["receptionist"]  # spaced so text-to-speech says the digits
    assert call.outcome["route"] == "emergency"
    assert [c.priority for c in rows(store, Callback, Callback.call_sid == call.call_sid)] == ["urgent"]


def test_stop_calling_me_opts_out(services, practice, store):
    """ "Stop calling me" opts the caller out of all outreach."""
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=["please stop calling me", "that's all"])
    assert call.outcome["opted_out"] is True
    assert rows(store, Patient, Patient.id == "P2")[0].opted_out


def test_message_is_taken(services, practice, store):
    """A caller can leave a message; it is stored for staff."""
    from receptionist.store import Message

    call = simulator_for(services).call(
        from_=TOM,
        to=MAIN,
        says=["I'd like to leave a message", "please ask Dr Chen to call me about my crown", "no that's all"],
    )
    assert call.outcome["message_taken"] is True
    assert "crown" in rows(store, Message, Message.call_sid == call.call_sid)[0].text


def test_redis_down_calls_are_still_answered(services, practice, settings):
    """With Redis unreachable the caller is found in the store and still routed to staff."""
    from receptionist.runtime.services import Services

    dead = Services(
        settings=settings, practice=services.practice, store=services.store, redis_url="redis://127.0.0.1:1/0"
    )
    call = simulator_for(dead).call(from_=MARGARET, to=MAIN)
    assert call.outcome["route"] == "staff" and call.outcome["transfer"] == "accepted"
    call = simulator_for(dead).call(from_=TOM, to=MAIN, says=["what's your address", "bye"])
    assert "Connecticut" in call.turns[1]["receptionist"]


def test_store_down_still_gives_valid_twiml(services, settings):
    """With the store unreachable the caller is put through to the staff numbers."""
    from receptionist.runtime.services import Services
    from receptionist.store import Store

    dead = Services(
        settings=settings,
        practice=services.practice,
        store=Store("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        redis_url=services.redis_url,
    )
    call = simulator_for(dead).call(from_=STRANGER, to=MAIN, fetch_outcome=False)
    assert call.dialed == ["+12025550111", "+12025550112"]
    assert not [e for e in call.http_errors if not e[0].endswith("/voice/status")]


def test_status_callbacks_once_and_out_of_order(services, practice, store):
    """Duplicated and out-of-order status callbacks are recorded once and never move the status backwards."""
    sim = simulator_for(services)
    call = sim.call(from_=TOM, to=MAIN, says=["bye"])
    from receptionist.web import create_app

    client = create_app(services=services).test_client()
    url = services.settings.base_url + "/voice/status"
    base = {"CallSid": call.call_sid, "AccountSid": "AC" + "0" * 32, "From": TOM, "To": MAIN}
    for status, seq in (("ringing", "1"), ("completed", "3"), ("ringing", "1"), ("in-progress", "2")):
        params = {**base, "CallStatus": status, "SequenceNumber": seq, "CallDuration": "15"}
        r = client.post("/voice/status", data=params, headers={"X-Twilio-Signature": sim.sign(url, params)})
        assert r.status_code == 204
    record = rows(store, Call, Call.sid == call.call_sid)[0]
    assert record.status == "completed"
    events = rows(store, CallEvent, CallEvent.call_sid == call.call_sid)
    assert sorted((e.status, e.sequence) for e in events) == sorted({(e.status, e.sequence) for e in events})
    assert ("ringing", 1) in {(e.status, e.sequence) for e in events}


def test_repeat_caller_reaches_a_person(services, practice):
    """A caller the AI has already had twice today is put through to staff on the third call."""
    sim = simulator_for(services)
    for _ in range(2):
        assert sim.call(from_=TOM, to=MAIN, says=["bye"]).outcome["route"] == "ai"
    assert sim.call(from_=TOM, to=MAIN).outcome["route"] == "staff"


def test_call_state_lives_in_redis_with_an_expiry(services, practice, redis_client):
    """A call's state is kept per CallSid in Redis, with an expiry."""
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=["hello"])
    ttl = redis_client.ttl(f"rcp:call:{call.call_sid}")
    assert 0 < ttl <= 4 * 3600


def test_nothing_a_caller_says_reaches_the_logs(services, practice, caplog):
    """Transcripts, names and numbers never appear in application logs."""
    caplog.set_level(logging.DEBUG)
    simulator_for(services).call(from_=TOM, to=MAIN, says=["my secret is pineapple", "bye"])
    text = caplog.text
    assert "pineapple" not in text and TOM not in text and "Tom" not in text and "Novak" not in text


@pytest.mark.parametrize(
    "params",
    [
        {"To": MAIN},  # no From: an anonymous caller
        {"To": MAIN, "From": "anonymous"},
        {"To": MAIN, "From": TOM, "CallerName": "X", "SomethingNew": "1", "FromCountry": "US"},
        {"From": TOM},  # no To
    ],
)
def test_odd_parameters_get_valid_twiml(services, practice, params):
    """Missing, odd or unknown parameters still get a 200 with valid TwiML that says something."""
    from receptionist.web import create_app

    sim = simulator_for(services)
    client = create_app(services=services).test_client()
    url = services.settings.base_url + "/voice/inbound"
    params = {"CallSid": "CA" + "2" * 32, "AccountSid": "AC" + "0" * 32, **params}
    r = client.post("/voice/inbound", data=params, headers={"X-Twilio-Signature": sim.sign(url, params)})
    assert r.status_code == 200
    root = ET.fromstring(r.data)
    assert root.tag == "Response" and next(root.iter("Say")).text


def test_a_call_that_goes_on_and_on_ends_with_a_callback(services, practice, store, monkeypatch):
    """After MAX_TURNS turns the receptionist promises a callback, queues it and hangs up."""
    monkeypatch.setattr("receptionist.voice.callflow.MAX_TURNS", 3)
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=["what are your hours"] * 6)
    assert call.ended_by == "hangup" and len(call.turns) == 4
    assert "call you back" in call.turns[-1]["receptionist"]
    assert [c.reason for c in rows(store, Callback, Callback.call_sid == call.call_sid)] == [
        "long call without resolution"
    ]


# The state of a call in progress, exactly as the release before the typed call state wrote it to Redis.
PREVIOUS_RELEASE_STATE = {
    "location_id": "main",
    "caller": TOM,
    "patient_id": "P2",
    "tier": "low",
    "route": "ai",
    "reason": "routine",
    "engine": {},
    "turn": 1,
    "transfer": None,
    "facts": {},
    "first_name": "Tom",
    "a_field_of_a_newer_release": {"kept": "no"},
}


def test_a_call_in_progress_survives_a_deploy(services, practice, redis_client):
    """A call whose state an older (or newer) release saved carries on: known keys are read, unknown ones
    dropped, and the caller is answered in the conversation they were having, not greeted again."""
    import json

    from receptionist.store import keys
    from receptionist.web import create_app

    sid = "CA" + "7" * 32
    redis_client.set(keys.call_state(sid), json.dumps(PREVIOUS_RELEASE_STATE), ex=600)
    sim = simulator_for(services)
    client = create_app(services=services).test_client()
    url = services.settings.base_url + "/voice/gather"
    params = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": TOM,
        "To": MAIN,
        "SpeechResult": "what are your hours",
    }
    r = client.post("/voice/gather", data=params, headers={"X-Twilio-Signature": sim.sign(url, params)})
    assert r.status_code == 200
    said = " ".join(el.text or "" for el in ET.fromstring(r.data).iter("Say"))
    assert "Monday to Friday" in said and "thank you for calling" not in said.lower()
    state = json.loads(redis_client.get(keys.call_state(sid)))
    assert state["turn"] == 2 and state["patient_id"] == "P2"
    assert "a_field_of_a_newer_release" not in state
