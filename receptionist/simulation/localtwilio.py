"""A local stand-in for Twilio's REST API and the phones behind it, for local mode and tests.

The product's Twilio client is the real `twilio` package; `TWILIO_API_BASE_URL` points it here. This server
answers the requests the product makes (create, update and list Calls; create and list Messages) in Twilio's
own JSON, checks the account's basic auth, and then plays the other end over HTTP as Twilio would: it posts
signed status callbacks, and for a call that is answered it walks the app's TwiML with the call simulator,
posting the asynchronous answering-machine result and following a REST update of the live call (the
voicemail). Who answers a number is a `Callee`: tests set one per number; by default a stable draw per number
(most answer and book, some are voicemail, a few never pick up) makes `receptionist up` demos lifelike.

    python -m receptionist.simulation.localtwilio --port 8011   (what `receptionist up` runs in local mode)
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import hashlib
import json
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from receptionist.clock import Clock, system_clock
from receptionist.simulation.simulator import CallSimulator, HttpTransport, Transport

log = logging.getLogger(__name__)
API = "/2010-04-01/Accounts/"
NETWORK_DELAY_S = 0.05
LOCAL_URL_FILE = (
    "local_twilio_url"  # in the data folder while the stand-in runs (Settings.twilio_api reads it)
)


@dataclass(frozen=True)
class Callee:
    answer: Literal["human", "machine", "no-answer", "busy", "fail"] = "human"
    says: tuple[str | None, ...] = ()  # what a person says, one entry per speech Gather
    digits: tuple[str | None, ...] = ("1",)  # keys a person presses at a keys-only Gather (a staff member: 1)
    # what a person texts back to the first text they get (two-way texting), one text after another, each
    # once the practice's answer to the one before has come back
    texts: tuple[str, ...] = ()


def default_callee(number: str) -> Callee:
    """A stable draw per number: 6 in 10 answer and book, 3 in 10 are voicemail, 1 in 10 never answers."""
    draw = int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 10
    if draw < 6:
        return Callee("human", ("yes please", "the first one", "yes", "no thank you"))
    if draw < 9:
        return Callee("machine")
    return Callee("no-answer")


@dataclass
class CallRecord:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str | None
    events: list[str]
    amd_callback: str | None
    created: dt.datetime
    status: str = "queued"
    update: str | None = None  # TwiML put on the live call by a REST update, not yet played
    transcript: list[str] = field(default_factory=list)
    answered_by: str | None = None
    time_limit: int | None = None  # the TimeLimit asked for (seconds), as Twilio would enforce it
    duration: int | None = None  # seconds, once the call has ended
    direction: str = "outbound-api"

    def json(self, account: str) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "duration": str(self.duration) if self.duration is not None else None,
            "direction": self.direction,
            "date_created": email.utils.format_datetime(self.created),
            "date_updated": email.utils.format_datetime(self.created),
            "start_time": None,
            "end_time": None,
            "answered_by": self.answered_by,
            "api_version": "2010-04-01",
            "uri": f"{API}{account}/Calls/{self.sid}.json",
        }


@dataclass
class MessageRecord:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created: dt.datetime
    status: str = "queued"

    def json(self, account: str) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": email.utils.format_datetime(self.created),
            "date_sent": None,
            "date_updated": email.utils.format_datetime(self.created),
            "api_version": "2010-04-01",
            "uri": f"{API}{account}/Messages/{self.sid}.json",
        }


class LocalTwilio:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        callees: dict[str, Callee] | None = None,
        play: bool = True,
        transport: Transport | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.account_sid = account_sid
        self.clock = clock  # stamps date_created, which reconciling asks about
        self.auth_token = auth_token
        self.callees: dict[str, Callee] = dict(callees or {})
        # two-way texting: what each number texted back and the practice's answers, in order
        self.conversations: dict[str, list[tuple[str, list[str]]]] = {}
        self.play = play  # False: accept and record only (load tests); nothing calls back
        self.transport = transport or HttpTransport()
        self.calls: dict[str, CallRecord] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.created_at: list[float] = []  # monotonic time of every call created, for pacing checks
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None  # tests: hold create responses until set
        self.pending = 0  # calls and messages still being played
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._serving: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._serving = threading.Thread(target=self.server.serve_forever, name="local-twilio", daemon=True)
        self._serving.start()
        return self.base_url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def know_inbound(self, sid: str, *, to: str, from_: str, status: str, duration: int | None) -> None:
        """An inbound call as Twilio's records have it (a caller rang the practice; calls the simulator plays
        reach the webhooks directly, so the stand-in learns of them only this way)."""
        with self.lock:
            self.calls[sid] = CallRecord(
                sid=sid,
                to=to,
                from_=from_,
                url="",
                status_callback=None,
                events=[],
                amd_callback=None,
                created=self.clock(),
                status=status,
                duration=duration,
                direction="inbound",
            )

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every call and message created so far has been played to its end (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.pending == 0:
                    return
            time.sleep(0.02)
        raise TimeoutError("local Twilio: calls still playing")

    # -- the phone network side -------------------------------------------------------------------------------
    def _simulator(self, base: str) -> CallSimulator:
        return CallSimulator(
            self.transport, base_url=base, auth_token=self.auth_token, account_sid=self.account_sid
        )

    def _post(self, url: str, params: dict[str, str]) -> None:
        sim = self._simulator(url)
        try:
            self.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
        except OSError:
            log.warning("local Twilio: a callback could not be delivered")

    def _status(self, call: CallRecord, status: str, sequence: int, **extra: str) -> None:
        call.status = status
        wanted = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}.get(
            status, "completed"
        )
        if call.status_callback and (wanted == "completed" or wanted in call.events):
            self._post(
                call.status_callback,
                {
                    "CallSid": call.sid,
                    "AccountSid": self.account_sid,
                    "From": call.from_,
                    "To": call.to,
                    "CallStatus": status,
                    "Direction": "outbound-api",
                    "ApiVersion": "2010-04-01",
                    "SequenceNumber": str(sequence),
                    "CallbackSource": "call-progress-events",
                    **extra,
                },
            )

    def _play_call(self, call: CallRecord) -> None:
        # a call placed without machine detection is a "call now" bridge: a staff member who answers and accepts
        callee = self.callees.get(call.to) or (
            default_callee(call.to) if call.amd_callback else Callee("human")
        )
        self._status(call, "initiated", 0)
        self._status(call, "ringing", 1)
        if callee.answer in ("no-answer", "busy", "fail"):
            self._status(call, {"fail": "failed"}.get(callee.answer, callee.answer), 2)
            return
        self._status(call, "in-progress", 2)
        answered_by = "human" if callee.answer == "human" else "machine_end_beep"

        def on_answered() -> None:
            call.answered_by = answered_by
            if call.amd_callback:
                self._post(
                    call.amd_callback,
                    {
                        "CallSid": call.sid,
                        "AccountSid": self.account_sid,
                        "AnsweredBy": answered_by,
                        "MachineDetectionDuration": "3200",
                    },
                )

        def replaced() -> str | None:
            with self.lock:
                update, call.update = call.update, None
            return update

        base = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(call.url))
        result = self._simulator(base).answer(
            call_sid=call.sid,
            url=call.url,
            from_=call.from_,
            to=call.to,
            says=callee.says if callee.answer == "human" else (),
            digits=callee.digits if callee.answer == "human" else (),
            status_callback=call.status_callback,
            on_answered=on_answered,
            replaced=replaced,
            final_sequence=3,
        )
        call.transcript = result.transcript
        call.status = "completed"

    def _play_message(self, message: MessageRecord) -> None:
        for seq, status in enumerate(("sent", "delivered")):
            message.status = status
            if message.status_callback:
                self._post(
                    message.status_callback,
                    {
                        "MessageSid": message.sid,
                        "SmsSid": message.sid,
                        "AccountSid": self.account_sid,
                        "From": message.from_,
                        "To": message.to,
                        "MessageStatus": status,
                        "SmsStatus": status,
                        "ApiVersion": "2010-04-01",
                        "SequenceNumber": str(seq),
                    },
                )
        callee = self.callees.get(message.to)
        if (
            callee is not None
            and callee.texts
            and message.status_callback
            and message.to not in self.conversations
        ):
            self._text_back(message, callee.texts)

    def _text_back(self, message: MessageRecord, texts: tuple[str, ...]) -> None:
        """The person texts back, as Twilio delivers a text to the practice number's Messaging URL."""
        import urllib.parse
        import xml.etree.ElementTree as ET

        parts = urllib.parse.urlsplit(message.status_callback or "")
        url = f"{parts.scheme}://{parts.netloc}/sms/inbound"
        sim = self._simulator(url)
        said = self.conversations.setdefault(message.to, [])
        for n, body in enumerate(texts):
            params = {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "AccountSid": self.account_sid,
                "From": message.to,
                "To": message.from_,
                "Body": body,
                "NumMedia": "0",
                "ApiVersion": "2010-04-01",
            }
            try:
                _status, xml = self.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
                answers = [m.text or "" for m in ET.fromstring(xml).iter("Message")]
            except (OSError, ET.ParseError):
                log.warning("local Twilio: reply %d could not be delivered", n)
                return
            said.append((body, answers))

    def _expect(self) -> bool:
        """Count a call or message about to be played (before the API answers, so `wait_idle` sees it)."""
        if self.play:
            with self.lock:
                self.pending += 1
        return self.play

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            time.sleep(NETWORK_DELAY_S)  # the API answers before the first callback, as on Twilio
            try:
                target(*args)
            finally:
                with self.lock:
                    self.pending -= 1

        threading.Thread(target=run, daemon=True).start()

    # -- the REST side -------------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # the numbers called are patient data: no access log
                return

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int, message: str, twilio_code: int) -> None:
                self._reply(
                    code,
                    {
                        "code": twilio_code,
                        "message": message,
                        "status": code,
                        "more_info": f"https://www.twilio.com/docs/errors/{twilio_code}",
                    },
                )

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{outer.account_sid}:{outer.auth_token}".encode()).decode()
                if self.headers.get("Authorization", "") != f"Basic {expected}":
                    self._error(401, "Authenticate", 20003)
                    return False
                return True

            def _route(self) -> tuple[str, str | None] | None:
                path = urllib.parse.urlsplit(self.path).path
                prefix = f"{API}{outer.account_sid}/"
                if not path.startswith(prefix) or not path.endswith(".json"):
                    return None
                parts = path[len(prefix) : -len(".json")].split("/")
                return parts[0], parts[1] if len(parts) > 1 else None

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                route = self._route()
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                if route is not None and route[0] == "Calls" and route[1] is not None:
                    with outer.lock:
                        known = outer.calls.get(route[1])
                    if known is None:
                        return self._error(404, f"The requested resource {self.path} was not found", 20404)
                    return self._reply(200, known.json(outer.account_sid))
                if route is None or route[1] is not None or route[0] not in ("Calls", "Messages"):
                    return self._error(404, "not found", 20404)
                with outer.lock:
                    records: list[CallRecord | MessageRecord] = list(
                        (outer.calls if route[0] == "Calls" else outer.messages).values()
                    )
                found = [
                    r.json(outer.account_sid) for r in records if not query.get("To") or r.to == query["To"]
                ]
                key = route[0].lower()
                self._reply(
                    200,
                    {
                        key: found,
                        "page": 0,
                        "page_size": len(found),
                        "start": 0,
                        "end": max(0, len(found) - 1),
                        "uri": self.path,
                        "first_page_uri": self.path,
                        "next_page_uri": None,
                        "previous_page_uri": None,
                    },
                )

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                one = {k: v[-1] for k, v in form.items()}
                route = self._route()
                if route is None:
                    return self._error(404, "not found", 20404)
                kind, sid = route
                now = outer.clock().replace(microsecond=0)
                if kind == "Calls" and sid is None:
                    if not one.get("To", "").startswith("+") or not (one.get("Url") or one.get("Twiml")):
                        return self._error(400, "The 'To' number is not a valid phone number.", 21211)
                    call = CallRecord(
                        "CA" + uuid.uuid4().hex,
                        one["To"],
                        one.get("From", ""),
                        one.get("Url", ""),
                        one.get("StatusCallback"),
                        form.get("StatusCallbackEvent", []),
                        one.get("AsyncAmdStatusCallback"),
                        now,
                        time_limit=int(one["TimeLimit"]) if one.get("TimeLimit", "").isdigit() else None,
                    )
                    with outer.lock:
                        outer.calls[call.sid] = call
                        outer.created_at.append(time.monotonic())
                    if outer.gate is not None:
                        outer.gate.wait(30)
                    play = outer._expect()
                    self._reply(201, call.json(outer.account_sid))
                    if play:
                        outer._spawn(outer._play_call, call)
                    return None
                if kind == "Calls":
                    with outer.lock:
                        found = outer.calls.get(sid or "")
                        if found is None:
                            return self._error(404, "The requested resource was not found", 20404)
                        if one.get("Twiml"):
                            found.update = one["Twiml"]
                        if one.get("Status") in ("completed", "canceled"):
                            found.status = one["Status"]
                    return self._reply(200, found.json(outer.account_sid))
                if kind == "Messages" and sid is None:
                    if not one.get("To", "").startswith("+") or not one.get("Body"):
                        return self._error(400, "The 'To' number is not a valid phone number.", 21211)
                    if len(one["Body"]) > 1600:
                        return self._error(400, "The message body exceeds the 1600 character limit.", 21617)
                    message = MessageRecord(
                        "SM" + uuid.uuid4().hex,
                        one["To"],
                        one.get("From", ""),
                        one["Body"],
                        one.get("StatusCallback"),
                        now,
                    )
                    with outer.lock:
                        outer.messages[message.sid] = message
                    play = outer._expect()
                    self._reply(201, message.json(outer.account_sid))
                    if play:
                        outer._spawn(outer._play_message, message)
                    return None
                return self._error(404, "not found", 20404)

        return Handler


def main() -> None:
    from receptionist.clock import clock_from
    from receptionist.config.settings import load_settings

    parser = argparse.ArgumentParser(description="A local stand-in for the Twilio REST API (local mode).")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    settings = load_settings()
    server = LocalTwilio(
        settings.account_sid,
        settings.auth_token,
        port=args.port,
        clock=clock_from(settings.receptionist_clock),
    )
    marker = settings.home / LOCAL_URL_FILE
    marker.write_text(server.base_url)
    print(server.base_url, flush=True)
    try:
        server.server.serve_forever()
    finally:
        marker.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
