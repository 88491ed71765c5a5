"""The call simulator plays Twilio against a small test app that checks every signature like the real app."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask, abort, jsonify, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse
from werkzeug.serving import make_server

from receptionist.simulation.simulator import (
    CallSimulator,
    FlaskTransport,
    HttpTransport,
    SimulatedCall,
    SimulatorError,
    StaffScript,
    transcript_text,
)

TOKEN = "sim-test-token-0123456789abcdef"
BASE = "http://127.0.0.1:8000"
MAIN = "+12025550100"  # speech conversation
MENU = "+12025550199"  # key-press menu
REJECT = "+12025550198"  # rejected before answering
PLAIN = "+12025550197"  # a transfer with no whisper and no Dial action
STAFF = "+12025550111"
CALLER = "+12025550123"
GREETING = "Thanks for calling Smile Dental. I am an automated assistant. How can I help?"
FALLBACK = "The front desk cannot take your call right now. I can help you instead. What do you need?"


# --- the test app: TwiML from the twilio builders, every request validated -------------------------------


def twiml(response: VoiceResponse) -> tuple[str, int, dict[str, str]]:
    return str(response), 200, {"Content-Type": "text/xml"}


def create_sim_app(auth_token: str, *, outcome: bool = True) -> Flask:
    app = Flask(__name__)
    log: list[dict] = []
    app.extensions["sim_log"] = log
    validator = RequestValidator(auth_token)

    @app.before_request
    def check_signature():
        if not validator.validate(request.url, request.form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        log.append({"path": request.path, "args": request.args.to_dict(), "form": request.form.to_dict()})

    @app.post("/voice/inbound")
    def inbound():
        r = VoiceResponse()
        to = request.form["To"]
        if to == REJECT:
            r.reject(reason="busy")
        elif to == MENU:
            g = Gather(input="dtmf", num_digits=1, action="menu?from=inbound")
            g.say("Press 1 for the front desk, 2 for our hours.")
            r.append(g)
            r.say("Goodbye.")
            r.hangup()
        elif to == PLAIN:
            r.say("Transferring you.")
            d = Dial()
            d.number(STAFF)
            r.append(d)
            r.say("Nobody answered. Please call back later.")
        else:
            g = Gather(input="speech", action="gather?step=1&lang=en", speech_timeout="auto")
            g.say(GREETING)
            r.append(g)
            r.say("Sorry, I did not catch that.")
            r.redirect("inbound")
        return twiml(r)

    @app.post("/voice/gather")
    def gather():
        step = int(request.args.get("step", "1"))
        speech = request.form.get("SpeechResult", "")
        said = speech.lower()
        r = VoiceResponse()
        if "transfer" in said:
            r.say("Connecting you to the front desk.")
            d = Dial(action=f"transfer-result?step={step + 1}", caller_id=request.form["From"])
            d.number(
                STAFF,
                url=f"whisper?caller={quote(request.form['From'])}",
                status_callback="/voice/leg-status",
            )
            r.append(d)
        elif "bye" in said:
            r.say("Goodbye.")
            r.hangup()
            r.say("never heard")
        elif "loop" in said:
            r.redirect("loop")
        elif "broken" in said:
            r.redirect("broken")
        elif "get" in said:
            r.append(Gather(input="speech", action="gather", method="GET"))
        elif "menu" in said:
            g = Gather(input="dtmf", action="menu?from=gather")
            g.say("Press a key.")
            r.append(g)
        elif "either" in said:
            g = Gather(input="speech dtmf", action=f"gather?step={step + 1}")
            g.say("Say something or press a key.")
            r.append(g)
        else:
            heard = speech or f"keys {request.form.get('Digits', '')}"
            g = Gather(input="speech", action=f"gather?step={step + 1}&lang=en")
            g.say(f"You said {heard}. Anything else?")
            r.append(g)
            r.say("I did not hear anything. Goodbye.")
            r.hangup()
        return twiml(r)

    @app.post("/voice/menu")
    def menu():
        r = VoiceResponse()
        digits = request.form.get("Digits", "")
        if digits == "1":
            d = Dial(action="transfer-result?step=1")
            d.number(STAFF)
            r.append(d)
        elif digits == "2":
            r.say("We are open Monday to Friday, 8 to 5.")
            r.hangup()
        else:
            r.say("Sorry, that is not an option.")
            r.redirect("inbound")
        return twiml(r)

    @app.post("/voice/whisper")
    def whisper():
        r = VoiceResponse()
        g = Gather(input="dtmf", num_digits=1, action="whisper-answer")
        g.say(f"Call from {request.args['caller']}. Press 1 to accept, 2 to decline.")
        r.append(g)
        r.hangup()
        return twiml(r)

    @app.post("/voice/whisper-answer")
    def whisper_answer():
        r = VoiceResponse()
        if request.form.get("Digits") != "1":
            r.say("Okay, the assistant will handle it.")
            r.hangup()
        return twiml(r)

    @app.post("/voice/transfer-result")
    def transfer_result():
        r = VoiceResponse()
        if request.form["DialCallStatus"] == "completed":
            r.hangup()
        else:
            step = int(request.args.get("step", "1"))
            g = Gather(input="speech", action=f"gather?step={step}")
            g.say(FALLBACK)
            r.append(g)
        return twiml(r)

    @app.post("/voice/loop")
    def loop():
        r = VoiceResponse()
        r.redirect("loop")
        return twiml(r)

    @app.post("/voice/broken")
    def broken():
        return "this is not TwiML", 200, {"Content-Type": "text/plain"}

    @app.post("/voice/status")
    @app.post("/voice/leg-status")
    def status():
        return "", 204

    @app.post("/voice/outcome")
    def call_outcome():
        if not outcome:
            abort(404)
        sid = request.form["CallSid"]
        mine = [e for e in log if e["form"].get("CallSid") == sid and e["path"] != "/voice/outcome"]
        dial = [e["form"]["DialCallStatus"] for e in mine if "DialCallStatus" in e["form"]]
        return jsonify({"call_sid": sid, "transfer": dial[-1] if dial else None, "requests": len(mine)})

    return app


# --- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def app() -> Flask:
    return create_sim_app(TOKEN)


def simulator(app: Flask, **kwargs) -> CallSimulator:
    return CallSimulator(FlaskTransport(app), base_url=BASE, auth_token=TOKEN, **kwargs)


def log_of(app: Flask, path: str | None = None) -> list[dict]:
    return [e for e in app.extensions["sim_log"] if path is None or e["path"] == path]


def place(app: Flask, to: str = MAIN, **kwargs) -> SimulatedCall:
    return simulator(app).call(from_=CALLER, to=to, **kwargs)


# --- tests -----------------------------------------------------------------------------------------------


def test_inbound_request_carries_twilio_parameters(app: Flask) -> None:
    """The first webhook has Twilio's inbound parameters (ringing), later ones say in-progress."""
    call = place(app, says=["hello"], extra_params={"CallerName": "JANE DOE"})
    first = log_of(app)[0]
    assert first["path"] == "/voice/inbound"
    form = first["form"]
    assert form["CallSid"] == call.call_sid and len(call.call_sid) == 34 and call.call_sid.startswith("CA")
    int(call.call_sid[2:], 16)
    assert form["AccountSid"] == "AC" + "0" * 32
    assert (form["From"], form["To"], form["Caller"], form["Called"]) == (CALLER, MAIN, CALLER, MAIN)
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == ("ringing", "inbound", "2010-04-01")
    assert form["FromCountry"] == "US" and form["ToState"] and form["FromZip"] and form["ToCity"]
    assert form["CallerName"] == "JANE DOE" and "CallToken" not in form
    assert log_of(app, "/voice/gather")[0]["form"]["CallStatus"] == "in-progress"


def test_signatures_verify_on_relative_urls_with_query_strings(app: Flask) -> None:
    """Every request verifies, including relative action URLs whose query strings carry `&`."""
    call = place(app, says=["hello", "again"])
    assert call.http_errors == []
    gathers = log_of(app, "/voice/gather")
    assert [g["args"] for g in gathers] == [{"step": "1", "lang": "en"}, {"step": "2", "lang": "en"}]
    assert call.requests[1][0] == f"{BASE}/voice/gather?step=1&lang=en"


def test_tampered_token_is_refused_with_403(app: Flask) -> None:
    """With the wrong auth token the app answers 403; the simulator records it and ends in error."""
    call = CallSimulator(FlaskTransport(app), base_url=BASE, auth_token="not-the-token").call(
        from_=CALLER, to=MAIN, says=["hello"]
    )
    assert call.ended_by == "error" and call.outcome is None
    assert call.http_errors == [
        (f"{BASE}/voice/inbound", 403),
        (f"{BASE}/voice/status", 403),
        (f"{BASE}/voice/outcome", 403),
    ]
    assert log_of(app) == []


def test_https_base_url_with_path_prefix_is_signed_as_seen(app: Flask) -> None:
    """Behind https and a path prefix, Flask sees the URL that was signed and every request verifies."""
    base = "https://rx.example.com/practice"
    sim = CallSimulator(FlaskTransport(app, base_url=base), base_url=base, auth_token=TOKEN)
    call = sim.call(from_=CALLER, to=MAIN, says=["hello"])
    assert call.http_errors == [] and call.outcome is not None
    assert call.requests[1][0] == f"{base}/voice/gather?step=1&lang=en"


def test_speech_turns_are_fed_in_order(app: Flask) -> None:
    """Each `says` entry goes to the next speech Gather, and each turn pairs it with what came back."""
    call = place(app, says=["I need a cleaning", "next Tuesday", "bye"])
    posted = log_of(app, "/voice/gather")
    assert [p["form"]["SpeechResult"] for p in posted] == ["I need a cleaning", "next Tuesday", "bye"]
    assert {p["form"]["Confidence"] for p in posted} == {"0.92"}
    assert call.turns == [
        {"caller": "", "receptionist": GREETING},
        {"caller": "I need a cleaning", "receptionist": "You said I need a cleaning. Anything else?"},
        {"caller": "next Tuesday", "receptionist": "You said next Tuesday. Anything else?"},
        {"caller": "bye", "receptionist": "Goodbye."},
    ]
    assert call.transcript[:2] == [f"receptionist: {GREETING}", "caller: I need a cleaning"]


def test_hangup_ends_the_call(app: Flask) -> None:
    """<Hangup/> ends the call at once: nothing after it is heard, no further webhook is requested."""
    call = place(app, says=["bye", "unused"])
    assert call.ended_by == "hangup" and call.transcript[-1] == "[hangup]"
    assert "never heard" not in transcript_text(call)
    assert [e["path"] for e in log_of(app)] == [
        "/voice/inbound",
        "/voice/gather",
        "/voice/status",
        "/voice/outcome",
    ]


def test_script_exhaustion_hangs_up_and_sends_completed_status(app: Flask) -> None:
    """When the script runs out at a Gather the caller hangs up; /voice/status gets "completed"."""
    call = place(app, says=["hello"])
    assert call.ended_by == "caller" and call.transcript[-1] == "[caller hangs up]"
    (status,) = log_of(app, "/voice/status")
    form = status["form"]
    assert form["CallSid"] == call.call_sid and form["CallStatus"] == "completed"
    assert form["CallDuration"] == str(5 * len(call.turns)) == "10"
    assert form["SequenceNumber"] == "0"
    assert email.utils.parsedate_to_datetime(form["Timestamp"]).tzinfo is not None


def test_silence_goes_on_to_the_next_verb_and_redirect_is_followed(app: Flask) -> None:
    """A `None` entry is silence: the verbs after the Gather play, and <Redirect> is posted to."""
    call = place(app, says=[None, "bye"])
    assert [e["path"] for e in log_of(app)][:3] == ["/voice/inbound", "/voice/inbound", "/voice/gather"]
    assert log_of(app, "/voice/inbound")[1]["form"]["CallStatus"] == "in-progress"
    assert call.turns[1] == {
        "caller": "[silence]",
        "receptionist": f"Sorry, I did not catch that. {GREETING}",
    }
    assert call.ended_by == "hangup"


def test_dtmf_only_gather_takes_digits_not_speech(app: Flask) -> None:
    """A dtmf-only Gather takes the next `digits` entry and leaves `says` for speech Gathers."""
    call = place(app, to=MENU, says=["not for the menu"], digits=["2"])
    (menu,) = log_of(app, "/voice/menu")
    assert menu["form"]["Digits"] == "2" and "SpeechResult" not in menu["form"]
    assert menu["args"] == {"from": "inbound"}
    assert call.turns[-1] == {
        "caller": "[pressed 2]",
        "receptionist": "We are open Monday to Friday, 8 to 5.",
    }
    assert call.ended_by == "hangup"


def test_gather_accepting_both_takes_speech_first_then_digits(app: Flask) -> None:
    """A speech-and-dtmf Gather takes `says` while there are any, then `digits`."""
    call = place(app, says=["either", "either"], digits=["7"])
    posted = [e["form"] for e in log_of(app, "/voice/gather")]
    assert posted[1]["SpeechResult"] == "either" and "Digits" not in posted[1]
    assert posted[2]["Digits"] == "7" and "SpeechResult" not in posted[2]
    assert call.turns[-1]["caller"] == "[pressed 7]" and call.ended_by == "caller"


def test_finish_on_key_is_stripped_from_digits(app: Flask) -> None:
    """Digits ending with the finishOnKey are posted without it, with FinishedOnKey."""
    place(app, says=["menu"], digits=["2#"])
    (menu,) = log_of(app, "/voice/menu")
    assert (menu["form"]["Digits"], menu["form"]["FinishedOnKey"]) == ("2", "#")


def test_accepted_transfer_whispers_presses_1_and_connects(app: Flask) -> None:
    """accept: the whisper leg is requested as Twilio's child leg, staff presses 1, Dial action says completed."""
    call = place(app, says=["transfer me please"])
    (whisper,) = log_of(app, "/voice/whisper")
    leg = whisper["form"]
    assert whisper["args"] == {"caller": CALLER}
    assert leg["ParentCallSid"] == call.call_sid and leg["CallSid"] != call.call_sid
    assert leg["CallSid"].startswith("CA") and len(leg["CallSid"]) == 34
    assert (leg["From"], leg["To"], leg["Direction"], leg["CallStatus"]) == (
        CALLER,
        STAFF,
        "outbound-dial",
        "in-progress",
    )
    (answer,) = log_of(app, "/voice/whisper-answer")
    assert answer["form"]["Digits"] == "1" and answer["form"]["CallSid"] == leg["CallSid"]
    (result,) = log_of(app, "/voice/transfer-result")
    form = result["form"]
    assert (form["CallSid"], form["DialCallStatus"], form["DialCallSid"], form["DialCallDuration"]) == (
        call.call_sid,
        "completed",
        leg["CallSid"],
        "42",
    )
    assert result["args"] == {"step": "2"}
    (leg_status,) = log_of(app, "/voice/leg-status")
    assert leg_status["form"]["CallSid"] == leg["CallSid"] and leg_status["form"]["CallStatus"] == "completed"
    assert call.dialed == [STAFF]
    assert call.whisper == [f"Call from {CALLER}. Press 1 to accept, 2 to decline."]
    assert (
        f"[dial {STAFF}: staff whisper: Call from {CALLER}. Press 1 to accept, 2 to decline.]"
        in call.transcript
    )
    assert call.transcript[-3:] == ["[staff pressed 1]", "[connected to staff]", "[hangup]"]
    assert call.ended_by == "hangup" and call.outcome is not None and call.outcome["transfer"] == "completed"


@pytest.mark.parametrize(
    ("action", "whisper_posts", "answer_digits", "dial_status", "whisper_text"),
    [
        (
            "decline",
            1,
            ["2"],
            "no-answer",
            [f"Call from {CALLER}. Press 1 to accept, 2 to decline.", "Okay, the assistant will handle it."],
        ),
        ("no-answer", 0, [], "no-answer", []),
        ("busy", 0, [], "busy", []),
    ],
)
def test_failed_transfers_report_dial_status_and_fall_back(
    app: Flask,
    action: str,
    whisper_posts: int,
    answer_digits: list[str],
    dial_status: str,
    whisper_text: list[str],
) -> None:
    """decline/no-answer/busy: the right whisper requests and Digits, then DialCallStatus, then the AI again."""
    call = place(app, says=["transfer me", "book me in"], staff=StaffScript(action))
    assert len(log_of(app, "/voice/whisper")) == whisper_posts
    assert [e["form"]["Digits"] for e in log_of(app, "/voice/whisper-answer")] == answer_digits
    (result,) = log_of(app, "/voice/transfer-result")
    assert result["form"]["DialCallStatus"] == dial_status and "DialCallDuration" not in result["form"]
    assert call.whisper == whisper_text
    words = {
        "decline": "declined: staff pressed 2",
        "no-answer": "nobody at the front desk",
        "busy": "was busy",
    }
    assert any(line.startswith("[transfer") and words[action] in line for line in call.transcript)
    assert "[connected to staff]" not in call.transcript
    assert call.turns[1] == {
        "caller": "transfer me",
        "receptionist": f"Connecting you to the front desk. {FALLBACK}",
    }
    assert call.turns[2]["caller"] == "book me in" and call.ended_by == "caller"
    assert call.outcome is not None and call.outcome["transfer"] == dial_status
    assert [e["form"]["CallStatus"] for e in log_of(app, "/voice/status")] == ["completed"]


def test_plain_transfer_connects_without_whisper_and_ends(app: Flask) -> None:
    """A <Number> without url: accept connects at once; with no Dial action the call ends after the bridge."""
    call = place(app, to=PLAIN)
    assert log_of(app, "/voice/whisper") == [] and call.dialed == [STAFF]
    assert call.transcript == [
        "receptionist: Transferring you.",
        f"[dial {STAFF}]",
        "[connected to staff]",
        "[hangup]",
    ]
    assert call.ended_by == "hangup"


def test_unanswered_plain_transfer_goes_on_with_the_next_verb(app: Flask) -> None:
    """With no Dial action, a transfer nobody answers goes on with the verb after <Dial>, as on Twilio."""
    call = place(app, to=PLAIN, staff=StaffScript("no-answer"))
    assert call.turns == [
        {"caller": "", "receptionist": "Transferring you. Nobody answered. Please call back later."}
    ]
    assert call.transcript[-3:] == [
        "[transfer not answered: nobody at the front desk picked up]",
        "receptionist: Nobody answered. Please call back later.",
        "[hangup]",
    ]


def test_menu_transfer_without_whisper_posts_dial_action(app: Flask) -> None:
    """A key-press menu leading to a plain Dial with an action: completed, with the child sid and duration."""
    call = place(app, to=MENU, digits=["1"])
    (result,) = log_of(app, "/voice/transfer-result")
    assert result["form"]["DialCallStatus"] == "completed" and result["form"]["DialCallSid"].startswith("CA")
    assert result["form"]["DialCallSid"] != call.call_sid
    assert call.ended_by == "hangup"


def test_reject_before_answering_reports_busy(app: Flask) -> None:
    """<Reject reason="busy"> ends the call unanswered; the status callback says busy."""
    call = place(app, to=REJECT)
    assert call.ended_by == "hangup" and call.transcript == ["[rejected]"]
    assert log_of(app, "/voice/status")[0]["form"]["CallStatus"] == "busy"


def test_redirect_loops_are_bounded_by_max_steps(app: Flask) -> None:
    """A redirect loop stops after max_steps webhook requests, ended_by "error"; the status is still sent."""
    call = simulator(app, max_steps=7).call(from_=CALLER, to=MAIN, says=["loop"])
    assert call.ended_by == "error" and call.transcript[-1] == "[error: stopped after 7 requests]"
    assert len(log_of(app, "/voice/loop")) == 5
    assert len(log_of(app, "/voice/status")) == 1 and call.http_errors == []


def test_non_twiml_body_is_an_error(app: Flask) -> None:
    """A 200 that is not a TwiML <Response> is recorded as an HTTP error and ends the call in error."""
    call = place(app, says=["broken"])
    assert call.http_errors == [(f"{BASE}/voice/broken", 200)] and call.ended_by == "error"
    assert call.outcome is not None  # the call still ended: status sent, outcome fetched


def test_http_error_status_is_recorded(app: Flask) -> None:
    """A 4xx/5xx webhook answer is recorded with its URL and ends the call in error."""
    bad = CallSimulator(FlaskTransport(app), base_url=BASE + "/nowhere", auth_token=TOKEN)
    call = bad.call(from_=CALLER, to=MAIN, fetch_outcome=False)
    assert call.http_errors == [(f"{BASE}/nowhere/voice/inbound", 404), (f"{BASE}/nowhere/voice/status", 404)]
    assert call.ended_by == "error"


def test_method_get_is_refused_clearly(app: Flask) -> None:
    """TwiML asking for a GET callback raises SimulatorError naming the verb."""
    with pytest.raises(SimulatorError, match='<Gather method="GET">'):
        place(app, says=["get", "more"])


def test_outcome_is_fetched_signed_and_missing_outcome_is_recorded(app: Flask) -> None:
    """The outcome route's JSON becomes `outcome`; without the route it stays None and the 404 is recorded."""
    call = place(app, says=["bye"])
    assert call.outcome == {"call_sid": call.call_sid, "transfer": None, "requests": 3}
    (posted,) = log_of(app, "/voice/outcome")
    assert posted["form"] == {"CallSid": call.call_sid}
    bare = create_sim_app(TOKEN, outcome=False)
    call = simulator(bare).call(from_=CALLER, to=MAIN, says=["bye"])
    assert call.outcome is None and call.http_errors == [(f"{BASE}/voice/outcome", 404)]
    assert call.ended_by == "hangup"


def test_transcript_text_is_one_line_per_event(app: Flask) -> None:
    """transcript_text joins the transcript lines for the CLI."""
    call = place(app, says=["bye"])
    assert transcript_text(call).splitlines() == call.transcript
    assert transcript_text(call).endswith("receptionist: Goodbye.\n[hangup]")


@pytest.fixture
def served_app(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_transport_plays_a_transfer_against_a_running_server(app: Flask, served_app: str) -> None:
    """Over real HTTP (werkzeug server, port 0) signatures verify and a whispered transfer connects."""
    call = CallSimulator(HttpTransport(), base_url=served_app, auth_token=TOKEN).call(
        from_=CALLER, to=MAIN, says=["transfer please"]
    )
    assert call.http_errors == []
    assert [e["path"] for e in log_of(app)] == [
        "/voice/inbound",
        "/voice/gather",
        "/voice/whisper",
        "/voice/whisper-answer",
        "/voice/leg-status",
        "/voice/transfer-result",
        "/voice/status",
        "/voice/outcome",
    ]
    assert call.outcome is not None and call.outcome["transfer"] == "completed"
    assert call.ended_by == "hangup"


def test_http_transport_records_refusals_and_unreachable_servers(served_app: str) -> None:
    """Over HTTP a 403 is recorded with its status, and a server that is gone is recorded as status 0."""
    call = CallSimulator(HttpTransport(), base_url=served_app, auth_token="wrong").call(
        from_=CALLER, to=MAIN, fetch_outcome=False
    )
    assert call.http_errors == [(f"{served_app}/voice/inbound", 403), (f"{served_app}/voice/status", 403)]
    gone = CallSimulator(HttpTransport(timeout=2), base_url="http://127.0.0.1:1", auth_token=TOKEN)
    call = gone.call(from_=CALLER, to=MAIN, fetch_outcome=False)
    assert call.ended_by == "error" and call.http_errors[0] == ("http://127.0.0.1:1/voice/inbound", 0)
