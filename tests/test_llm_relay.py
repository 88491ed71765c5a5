"""ConversationRelay: the `<Connect>` TwiML for a relay location and the websocket exchange with Twilio."""

from __future__ import annotations

import http.client
import json
import threading
import time
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
import simple_websocket
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from receptionist.config.practice import PracticeFileError, load_practice
from receptionist.conversation import nlu
from receptionist.runtime.services import build_services
from receptionist.web import create_app
from tests.conftest import TEST_TOKEN
from tests.fake_openai import Step, say
from tests.llm_helpers import llm_settings
from tests.voice_helpers import MAIN, MONDAY_10AM, TOM, load_small_practice

SID = "CA" + "7" * 32
BASE = "http://testserver"


@pytest.fixture
def relay_services(tmp_path, database_url, redis_url, store, redis_client, fake):
    load_small_practice(store, redis_client, tmp_path)
    text = resources.files("receptionist.config").joinpath("demo_practice.toml").read_text()
    text = text.replace(
        'timezone = "America/New_York"\naddress',
        'timezone = "America/New_York"\ntransport = "relay"\naddress',
        1,
    )
    (tmp_path / "practice.toml").write_text(text)
    settings = llm_settings(tmp_path, database_url, redis_url, fake.url, timeout_s=2.0)
    settings = settings.model_copy(update={"practice_file": tmp_path / "practice.toml"})
    services = build_services(settings, migrate=False)
    services.now = lambda: MONDAY_10AM
    yield services
    services.close()


def signed_post(client, path: str, params: dict[str, str]):
    signature = RequestValidator(TEST_TOKEN).compute_signature(BASE + path, params)
    return client.post(path, base_url=BASE, data=params, headers={"X-Twilio-Signature": signature})


def inbound(client):
    return signed_post(
        client,
        "/voice/inbound",
        {
            "CallSid": SID,
            "AccountSid": "AC" + "0" * 32,
            "From": TOM,
            "To": MAIN,
            "CallStatus": "ringing",
            "Direction": "inbound",
        },
    )


@pytest.fixture
def live(relay_services):
    """The app on a real local server (websockets need one), warmed as the web server's master warms it
    (`runtime/warmup.py`): a first turn that trains the intent model would take seconds and hear the
    holding line, as no caller of a running server does."""
    nlu.warm(("en",))
    app = create_app(services=relay_services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_port
    server.shutdown()
    server.server_close()


def connect(port: int, sid: str = SID, token: str = TEST_TOKEN) -> simple_websocket.Client:
    signature = RequestValidator(token).compute_signature(f"ws://testserver/voice/relay?call={sid}", {})
    return simple_websocket.Client.connect(
        f"ws://127.0.0.1:{port}/voice/relay?call={sid}", headers={"X-Twilio-Signature": signature}
    )


def hang_up(ws) -> None:
    try:
        ws.close()
    except (simple_websocket.ConnectionClosed, OSError):
        # the server ended the session first (OSError: its close reached the socket before the client's
        # reader thread marked the connection closed)
        pass


def receive_turn(ws) -> list[dict]:
    out = []
    while True:
        message = json.loads(ws.receive(timeout=5))
        out.append(message)
        if message["type"] == "end" or message.get("last"):
            return out


def test_a_relay_location_answers_with_connect_conversation_relay(relay_services):
    """With `transport = "relay"` the greeting (from code) opens a ConversationRelay session on a wss URL."""
    response = inbound(create_app(services=relay_services).test_client())
    root = ET.fromstring(response.get_data(as_text=True))
    connect_el = root.find("Connect")
    relay = connect_el.find("ConversationRelay")
    assert connect_el.get("action") == BASE + "/voice/relay/end"
    assert relay.get("url") == f"ws://testserver/voice/relay?call={SID}"
    assert "automated assistant" in relay.get("welcomeGreeting") and "Tom" in relay.get("welcomeGreeting")
    assert relay.get("dtmfDetection") == "true"


def test_the_transport_setting_is_checked(tmp_path):
    """An unknown transport in the practice file is refused with the field named."""
    text = resources.files("receptionist.config").joinpath("demo_practice.toml").read_text()
    (tmp_path / "p.toml").write_text(
        text.replace("[locations.hours]", 'transport = "pigeon"\n[locations.hours]', 1)
    )
    with pytest.raises(PracticeFileError, match="transport"):
        load_practice(tmp_path / "p.toml")
    assert load_practice().main.transport == "gather"


def test_the_websocket_exchange(live, fake, redis_client):
    """setup, prompt (streamed sentence by sentence), interrupt, dtmf, then a transfer handed back with end."""
    app, port = live
    client = app.test_client()
    inbound(client)
    fake.play(
        say("We are open Monday to Friday. We close at five. Anything else?"),
        say("You pressed one."),
        Step(text="Let me put you through.", tool_calls=[("transfer_to_staff", "{}")]),
    )
    ws = connect(port)
    try:
        ws.send(json.dumps({"type": "setup", "callSid": SID, "sessionId": "VX1", "from": TOM, "to": MAIN}))
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "when are you", "last": False}))
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "when are you open", "last": True}))
        tokens = receive_turn(ws)
        assert len(tokens) >= 3 and all(t["type"] == "text" for t in tokens)
        assert (
            "".join(t["token"] for t in tokens).strip()
            == "We are open Monday to Friday. We close at five. Anything else?"
        )
        assert fake.requests[0]["messages"][-1]["content"] == "when are you open"

        ws.send(
            json.dumps(
                {
                    "type": "interrupt",
                    "utteranceUntilInterrupt": "We are open Monday",
                    "durationUntilInterruptMs": 900,
                }
            )
        )
        ws.send(json.dumps({"type": "dtmf", "digit": "1"}))
        assert "".join(t["token"] for t in receive_turn(ws)).strip() == "You pressed one."
        history = fake.requests[1]["messages"]
        assert {"role": "assistant", "content": "We are open Monday (interrupted)"} in history
        assert history[-1] == {"role": "user", "content": "(pressed 1)"}

        ws.send(json.dumps({"type": "prompt", "voicePrompt": "can I talk to a person", "last": True}))
        messages = receive_turn(ws)
        if messages[-1]["type"] != "end":
            messages.append(json.loads(ws.receive(timeout=5)))
        assert messages[-1] == {"type": "end", "handoffData": json.dumps({"action": "transfer"})}
    finally:
        hang_up(ws)
    result = signed_post(
        client,
        "/voice/relay/end",
        {"CallSid": SID, "AccountSid": "AC" + "0" * 32, "HandoffData": json.dumps({"action": "transfer"})},
    )
    dial = ET.fromstring(result.get_data(as_text=True)).find("Dial")
    assert [n.text for n in dial.findall("Number")] == ["+12025550111", "+12025550112"]


def test_a_slow_model_gets_a_holding_line_on_the_relay(live, fake, relay_services):
    """Nothing to say yet after the hold deadline: the caller hears the holding line, then the answer."""
    app, port = live
    relay_services.callflow.hold_after_s = 0.2
    inbound(app.test_client())
    fake.play(Step(text="We are open until five.", delay=0.6))
    ws = connect(port)
    try:
        ws.send(json.dumps({"type": "setup", "callSid": SID}))
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "when do you close", "last": True}))
        tokens = receive_turn(ws)
    finally:
        hang_up(ws)
    assert tokens[0]["token"].strip() == "One moment while I check that."
    assert "".join(t["token"] for t in tokens[1:]).strip() == "We are open until five."


def test_an_emergency_over_the_relay_ends_the_session(live, fake):
    """Guardrails hold on the relay too: 911 instruction, then end with a hang-up handoff."""
    app, port = live
    client = app.test_client()
    inbound(client)
    ws = connect(port)
    try:
        ws.send(json.dumps({"type": "setup", "callSid": SID}))
        ws.send(
            json.dumps({"type": "prompt", "voicePrompt": "my chest hurts and I can't breathe", "last": True})
        )
        messages = receive_turn(ws)
        if messages[-1]["type"] != "end":
            messages.append(json.loads(ws.receive(timeout=5)))
    finally:
        hang_up(ws)
    assert "9 1 1" in messages[0]["token"] and messages[-1]["type"] == "end"
    assert fake.requests == []
    result = signed_post(
        client,
        "/voice/relay/end",
        {"CallSid": SID, "AccountSid": "AC" + "0" * 32, "HandoffData": json.dumps({"action": "hangup"})},
    )
    assert ET.fromstring(result.get_data(as_text=True)).find("Hangup") is not None


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_an_unsigned_handshake_is_refused(live, token):
    """The websocket upgrade needs a valid X-Twilio-Signature; without one there is no session."""
    _, port = live
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    if token:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            f"ws://testserver/voice/relay?call={SID}", {}
        )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", f"/voice/relay?call={SID}", headers=headers)
        response = conn.getresponse()
        assert response.status == 403
        response.read()
    finally:
        conn.close()


def test_a_setup_for_another_call_is_refused(live):
    """The session serves only the call its signed URL names."""
    app, port = live
    inbound(app.test_client())
    ws = connect(port)
    ws.send(json.dumps({"type": "setup", "callSid": "CA" + "8" * 32}))
    with pytest.raises(simple_websocket.ConnectionClosed):
        for _ in range(5):
            ws.receive(timeout=2)
            ws.send(json.dumps({"type": "prompt", "voicePrompt": "hello", "last": True}))
    hang_up(ws)


def test_an_interrupt_during_generation_stops_the_reply(live, fake, relay_services):
    """Talking over a reply still being generated stops it: none of it is sent, and the history says so."""
    app, port = live
    relay_services.callflow.hold_after_s = 5.0  # no holding line in this test
    inbound(app.test_client())
    fake.play(Step(text="We are open Monday to Friday. We close at five.", delay=0.6), say("Sure, what day?"))
    ws = connect(port)
    try:
        ws.send(json.dumps({"type": "setup", "callSid": SID, "sessionId": "VX1", "from": TOM, "to": MAIN}))
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "when are you open", "last": True}))
        time.sleep(0.2)  # the model is still thinking
        ws.send(
            json.dumps({"type": "interrupt", "utteranceUntilInterrupt": "", "durationUntilInterruptMs": 0})
        )
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "actually I want to book", "last": True}))
        tokens = receive_turn(ws)
        assert "".join(t["token"] for t in tokens).strip() == "Sure, what day?"
        history = fake.requests[1]["messages"]
        assert not any("We close at five" in str(m.get("content")) for m in history)
        assert history[-1] == {"role": "user", "content": "actually I want to book"}
    finally:
        hang_up(ws)
