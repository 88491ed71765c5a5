"""ConversationRelay: the websocket Twilio opens for `<Connect><ConversationRelay>`, and its `<Connect action>`.

Twilio does speech-to-text and text-to-speech; this socket receives `setup`, `prompt`, `dtmf`, `interrupt` and
`error` messages and answers with `text` tokens, sentence by sentence as the model streams them, and `end`
(with `handoffData`) when the call should leave the relay: a transfer or a hang-up, done by the action URL.
The handshake is signed like every webhook: `X-Twilio-Signature` over the wss URL, checked before upgrading.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from twilio.request_validator import RequestValidator

from receptionist.conversation.types import Reply, Utterance
from receptionist.voice.callflow import HOLDING_LINE
from receptionist.web.extension import services_of
from receptionist.web.twilio_auth import call_params, twilio_signed

bp = Blueprint("relay", __name__, url_prefix="/voice")
sock = Sock()
log = logging.getLogger(__name__)

IDLE_SECONDS = 900  # Twilio keeps the socket open for the whole call
LISTEN_SLICE = 0.02  # while a turn runs, the socket is read this often (interrupts act within it)
_SENTENCE = re.compile(r"^(.*?[.!?])\s+(.*)$", re.S)


def ws_url() -> str:
    """The wss URL Twilio connected to, as Twilio signed it (PUBLIC_BASE_URL with a ws scheme)."""
    base = services_of(current_app).settings.base_url
    query = request.query_string.decode()
    return "ws" + base[len("http") :] + request.path + (f"?{query}" if query else "")


@bp.before_request
def _signed_handshake() -> None:
    if request.endpoint != "relay.session":
        return
    validator = RequestValidator(services_of(current_app).settings.auth_token)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not validator.validate(ws_url(), {}, signature):
        log.warning("rejected %s: bad or missing Twilio signature on the websocket handshake", request.path)
        abort(403)


@bp.post("/relay/end")
@twilio_signed
def end() -> Response:
    """The relay session is over: transfer, hang up, or go on in the Gather loop."""
    p = call_params()
    return Response(services_of(current_app).callflow.relay_end(p), mimetype="text/xml")


class _Speaker:
    """Sends the reply to Twilio a sentence at a time while it streams; `finish` closes the turn."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.buffer = ""
        self.sent: list[str] = []
        self.stopped = False  # the caller talked over the reply: nothing more of it is sent
        self.lock = threading.Lock()  # the turn's thread streams; the session's thread may add a holding line

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.buffer = ""

    def send(self, token: str, last: bool) -> None:
        if self.stopped:
            return
        self.ws.send(json.dumps({"type": "text", "token": token, "last": last, "interruptible": True}))
        if token:
            self.sent.append(token)

    def feed(self, delta: str) -> None:
        with self.lock:
            self.buffer += delta
            while (m := _SENTENCE.match(self.buffer)) is not None:
                self.send(m.group(1).strip() + " ", last=False)
                self.buffer = m.group(2)

    def hold(self, text: str) -> None:
        """A holding line, unless the reply has started."""
        with self.lock:
            if not self.sent and not self.buffer:
                self.send(text + " ", last=False)

    def finish(self, say: str) -> None:
        with self.lock:
            rest = self.buffer.strip()
            self.buffer = ""
            streamed = _plain(" ".join([*self.sent, rest]))
            if (self.sent or rest) and _plain(say) in streamed:
                self.send(rest, last=True)
                return
            if rest:  # the streamed words were not the answer after all (a fallback took over): finish them
                self.send(rest + " ", last=False)
            self.send(say, last=True)


def _plain(text: str) -> str:
    return " ".join(text.split())


def _turn(
    flow: Any, sid: str, heard: Utterance, speaker: _Speaker, ws: Any, pending: deque[dict[str, Any]]
) -> Reply | None:
    """Run the turn while still listening: an `interrupt` stops the reply at once (the history is trimmed when
    the turn is over); other messages wait in `pending`. If nothing has been said after the call flow's
    `hold_after_s`, the caller hears the holding line."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["reply"] = flow.relay_turn(sid, heard, on_text=speaker.feed)
        except BaseException as error:  # noqa: BLE001 - re-raised in the session's thread
            box["error"] = error

    thread = threading.Thread(target=work, name=f"relay-{sid[-8:]}", daemon=True)
    thread.start()
    hold_at = time.monotonic() + flow.hold_after_s
    interrupted: str | None = None
    while thread.is_alive():
        raw = ws.receive(timeout=LISTEN_SLICE)
        message = _parse(raw) if raw is not None else None
        if message is not None and message.get("type") == "interrupt":
            speaker.stop()
            interrupted = str(message.get("utteranceUntilInterrupt") or "")
        elif message is not None:
            pending.append(message)
        if interrupted is None and time.monotonic() >= hold_at:
            speaker.hold(HOLDING_LINE)
            hold_at = float("inf")
    if "error" in box:
        raise box["error"]
    if interrupted is not None:
        flow.relay_interrupted(sid, interrupted)
    return box.get("reply")


def _parse(raw: Any) -> dict[str, Any] | None:
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return message if isinstance(message, dict) else None


@sock.route("/relay", bp=bp)  # type: ignore[untyped-decorator]  # flask-sock ships no type information
def session(ws: Any) -> None:
    flow = services_of(current_app).callflow
    sid = request.args.get("call", "")
    ready = False
    pending: deque[dict[str, Any]] = deque()
    while True:
        if pending:
            message = pending.popleft()
        else:
            raw = ws.receive(timeout=IDLE_SECONDS)
            if raw is None:
                log.info("call %s: relay socket idle, closing", sid)
                return
            parsed = _parse(raw)
            if parsed is None:
                continue
            message = parsed
        kind = message.get("type")
        if kind == "setup":
            ready = message.get("callSid") == sid
            if not ready:
                log.warning("call %s: relay setup for another call refused", sid)
                return
            continue
        if not ready:
            continue
        if kind == "interrupt":
            flow.relay_interrupted(sid, str(message.get("utteranceUntilInterrupt") or ""))
            continue
        if kind == "error":
            log.warning("call %s: relay error from Twilio", sid)
            continue
        if kind == "prompt" and message.get("last", True):
            heard = Utterance(speech=str(message.get("voicePrompt") or "").strip()[:500] or None)
        elif kind == "dtmf":
            heard = Utterance(digits=str(message.get("digit") or "")[:20] or None)
        else:
            continue
        speaker = _Speaker(ws)
        try:
            reply = _turn(flow, sid, heard, speaker, ws, pending)
            if reply is None:
                ws.send(json.dumps({"type": "end", "handoffData": json.dumps({"action": "hangup"})}))
                return
            if not speaker.stopped:
                speaker.finish(reply.say)
            if reply.action in ("transfer", "hangup"):
                ws.send(json.dumps({"type": "end", "handoffData": json.dumps({"action": reply.action})}))
                return
        except ConnectionClosed:
            raise
        except Exception:  # hand the call back to the Gather loop rather than leave silence
            log.exception("call %s: relay turn failed", sid)
            ws.send(json.dumps({"type": "end", "handoffData": json.dumps({"action": "resume"})}))
            return
