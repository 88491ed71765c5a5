"""Try it: a call placed from the browser, one caller turn per request, on the same simulator as `receptionist
call`; and the simulator's stepwise API it rests on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from receptionist.simulation import sandbox
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Call, Patient
from tests.dashboard_helpers import csrf, sign_in
from tests.outreach_helpers import ALL, TOKEN, add_patient


@pytest.fixture
def tryit(world, store):
    add_patient(store, "P1", 90, tier="high", **ALL)
    add_patient(store, "P2", 40, tier="low", **ALL)
    w = world()
    client = sign_in(w.app.test_client(), store)
    token = csrf(client, "/try")

    def post(path: str, body: dict):
        return client.post(path, json=body, headers={"X-CSRFToken": token})

    w.post, w.client = post, client
    return w


def test_page_offers_the_sandbox_callers(tryit):
    """The caller choice names the sandbox's made-up high-tier and low-tier patients and an unknown number,
    never a real patient's."""
    html = tryit.client.get("/try").get_data(as_text=True)
    assert "(202) 555-0198" in html and "(202) 555-0199" in html and "(312) 555-0123" in html
    assert "(202) 555-0001" not in html and "(202) 555-0002" not in html
    assert "tryit.js" in html


def test_a_conversation_turn_by_turn_matches_the_cli_simulator(tryit):
    """Start, two turns, hang up: replies come back each turn, the route is the AI's, and the stepwise call
    hears the same as one played whole by `CallSimulator.call`."""
    r = tryit.post("/try/start", {"caller": "low"})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    sid = body["call_sid"]
    assert not body["ended"] and body["turns"][0]["receptionist"]
    body = tryit.post("/try/say", {"call_sid": sid, "text": "what are your hours"}).get_json()
    assert body["turns"][-1]["caller"] == "what are your hours" and body["turns"][-1]["receptionist"]
    assert body["route"] == "ai"
    body = tryit.post("/try/say", {"call_sid": sid, "text": "that's all, bye"}).get_json()
    stepwise = [t["receptionist"] for t in body["turns"]]
    if not body["ended"]:
        body = tryit.post("/try/hangup", {"call_sid": sid}).get_json()
    assert body["ended"]
    sandbox_services, sandbox_app = tryit.app.extensions["tryit_sandbox"]
    whole = CallSimulator(
        FlaskTransport(sandbox_app, base_url="http://testserver"),
        base_url="http://testserver",
        auth_token=TOKEN,
        account_sid=tryit.settings.account_sid,
    ).call(
        from_=sandbox.callers()["low"],
        to=tryit.services.practice.main.phone,
        says=["what are your hours", "that's all, bye"],
    )
    assert [t["receptionist"] for t in whole.turns][: len(stepwise)] == stepwise
    assert tryit.post("/try/say", {"call_sid": sid, "text": "hello?"}).status_code == 404  # ended: gone
    # the call went to the sandbox: the practice's own call list never sees it
    assert f"/calls/{sid}" not in tryit.client.get("/calls").get_data(as_text=True)
    with sandbox_services.store.sessions() as s:
        assert s.get(Call, sid) is not None


def test_try_it_never_touches_a_real_patient(tryit, store):
    """ "Stop calling me" on Try it opts out the sandbox's made-up patient, not the real high- or low-tier one,
    and no real patient's record changes."""
    sid = tryit.post("/try/start", {"caller": "low"}).get_json()["call_sid"]
    said = tryit.post("/try/say", {"call_sid": sid, "text": "stop calling me"}).get_json()
    assert said["opted_out"], said
    tryit.post("/try/hangup", {"call_sid": sid})
    with store.sessions() as s:
        assert not s.get(Patient, "P1").opted_out and not s.get(Patient, "P2").opted_out
        assert s.scalar(select(func.count()).select_from(Call)) == 0
    sandbox_services, _ = tryit.app.extensions["tryit_sandbox"]
    with sandbox_services.store.sessions() as s:
        assert s.get(Patient, "TRY-LOW").opted_out
    tryit.post("/try/start", {"caller": "low"})  # the next Try it call finds the sandbox as it was
    with sandbox_services.store.sessions() as s:
        assert not s.get(Patient, "TRY-LOW").opted_out


def test_high_value_caller_is_put_through_to_staff(tryit):
    """A high-tier caller in opening hours goes to staff: the call ends at once with route staff."""
    body = tryit.post("/try/start", {"caller": "high"}).get_json()
    assert body["ended"] and body["route"] == "staff" and body["transfer"] == "accepted"
    assert any(e.startswith("[dial") for e in body["events"])


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/try/start", {"caller": "martian"}, "Choose who is calling"),
        ("/try/say", {"call_sid": "CA1", "text": ""}, "Type what the caller says"),
        ("/try/say", {"call_sid": "CA1", "text": "x" * 501}, "too long"),
        ("/try/say", {"call_sid": "CAnope", "text": "hello"}, "ended or expired"),
    ],
)
def test_bad_input_is_answered_with_a_message(tryit, path, body, message):
    """Bad input: a 4xx with a message the page shows."""
    r = tryit.post(path, body)
    assert 400 <= r.status_code < 500 and message in r.get_json()["error"]


def test_another_users_call_cannot_be_continued(tryit, store):
    """A paused call belongs to the staff member who placed it."""
    sid = tryit.post("/try/start", {"caller": "low"}).get_json()["call_sid"]
    other = sign_in(tryit.app.test_client(), store, "bob")
    token = csrf(other, "/try")
    r = other.post("/try/say", json={"call_sid": sid, "text": "hi"}, headers={"X-CSRFToken": token})
    assert r.status_code == 404


def test_simulator_start_and_resume_is_the_same_call(services, store):
    """`CallSimulator.start`/`resume` play one call (one CallSid) with the caller's words fed one at a time."""
    from receptionist.web import create_app

    app = create_app(services=services)
    sim = CallSimulator(
        FlaskTransport(app, base_url="http://testserver"),
        base_url="http://testserver",
        auth_token=services.settings.auth_token,
        account_sid=services.settings.account_sid,
    )
    call, paused = sim.start(from_="+13125550123", to=services.practice.main.phone)
    assert paused is not None and paused.call_sid == call.call_sid and "speech" in paused.inputs
    call2, paused2 = sim.resume(type(paused).from_json(paused.as_json()), "what are your hours")
    assert call2.call_sid == call.call_sid and call2.turns[-1]["caller"] == "what are your hours"
    call3, paused3 = sim.resume(paused2, None)
    assert paused3 is None and call3.ended_by == "caller" and call3.outcome["call_sid"] == call.call_sid


def test_when_places_the_call_at_another_time_of_day(tryit):
    """ "When" tries the other times of the practice's day: the same high-value caller is put through to
    staff on a weekday morning, but after hours and on a Saturday the AI takes the call (a closed practice
    transfers nobody), and the call keeps its time for its later turns."""
    html = tryit.client.get("/try").get_data(as_text=True)
    assert 'id="when"' in html and "after hours" in html
    morning = tryit.post("/try/start", {"caller": "high", "when": "morning"}).get_json()
    assert morning["route"] == "staff" and morning["transfer"] == "accepted"
    for when in ("evening", "weekend"):
        body = tryit.post("/try/start", {"caller": "high", "when": when}).get_json()
        assert body["transfer"] is None and not any(e.startswith("[dial") for e in body["events"]), when
        if not body["ended"]:
            later = tryit.post("/try/say", {"call_sid": body["call_sid"], "text": "what are your hours"})
            assert "Monday to Friday" in " ".join(t["receptionist"] for t in later.get_json()["turns"])
    assert (
        "Choose when" in tryit.post("/try/start", {"caller": "low", "when": "midnight"}).get_json()["error"]
    )


def test_moment_is_the_next_such_time_of_the_location():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from receptionist.web.dashboard.tryit import moment

    ny = ZoneInfo("America/New_York")
    friday_noon = dt.datetime(2026, 12, 4, 12, 0, tzinfo=ny)
    assert moment("now", friday_noon, ny) is None
    assert moment("morning", friday_noon, ny) == dt.datetime(2026, 12, 7, 10, 0, tzinfo=ny)  # Monday
    assert moment("evening", friday_noon, ny) == dt.datetime(2026, 12, 4, 19, 30, tzinfo=ny)
    assert moment("weekend", friday_noon, ny) == dt.datetime(2026, 12, 5, 11, 0, tzinfo=ny)
    saturday = dt.datetime(2026, 12, 5, 9, 0, tzinfo=ny)
    assert moment("weekend", saturday, ny) == dt.datetime(2026, 12, 5, 11, 0, tzinfo=ny)  # later today
    assert moment("weekend", saturday.replace(hour=12), ny) == dt.datetime(2026, 12, 12, 11, 0, tzinfo=ny)
