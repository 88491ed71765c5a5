"""The call simulator: plays Twilio against the webhook server, for tests, demos and `receptionist call`.

It places one inbound call the way Twilio does (signed form POSTs to `/voice/inbound`, then to every URL the
TwiML names) and follows the TwiML it gets back, with a scripted caller and a scripted staff member.

Scripted caller input, two queues:
- a speech `<Gather>` (its `input` has "speech" but not "dtmf") takes the next `says` entry;
- a dtmf-only `<Gather>` (`input` absent or "dtmf") takes the next `digits` entry;
- a `<Gather>` accepting both takes `says` first, and `digits` only once `says` is exhausted;
- a `None` entry (or "" in `digits`) is silence: Twilio goes on to the verb after the `<Gather>`, or with
  `actionOnEmptyResult="true"` posts to the action with no result. A `None` in `says` met by a Gather
  that also accepts dtmf presses the next `digits` entry instead, if there is one;
- when a `<Gather>` finds no input it can take, the caller hangs up (`ended_by == "caller"`).

Turns: the first turn, `{"caller": "", ...}`, holds what was said before the caller spoke (the greeting);
each caller input opens a turn whose `receptionist` text is every `<Say>` heard after it, up to the next
caller input or the end of the call, joined with " ". Keys pressed read as "[pressed 12]", silence as
"[silence]".

Staff (`StaffScript.action`), for a `<Dial>`: only the first `<Number>` answers; the others never do.
- "accept": with a `<Number url>` the whisper TwiML is played on the staff leg (its `<Say>` text goes to
  `whisper`), the staff member presses "1" at every whisper `<Gather>`; the legs connect unless the whisper
  leg hangs up. Without a whisper URL the legs connect at once.
- "decline": the same, pressing "2"; a whisper with no `<Gather>` is declined by hanging up.
- "no-answer" / "busy": no whisper request.
Then the `<Dial action>` gets `DialCallStatus` "completed" (connected), "busy", or "no-answer" (not
answered, or declined/hung up during the whisper, which is what Twilio reports). Without an action, a
connected call ends after the bridge; a failed one goes on with the verb after `<Dial>`, as on Twilio.

When the call ends (any way) the status callback `/voice/status` gets "completed" (or "busy"/"no-answer"
for a `<Reject>` before anything else was played), and, if asked, `/voice/outcome` is fetched (signed POST,
`CallSid`) for the server's JSON outcome.
"""

from __future__ import annotations

import email.utils
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from twilio.request_validator import RequestValidator

from receptionist.clock import Clock, system_clock

if TYPE_CHECKING:
    from flask import Flask

SIGNATURE_HEADER = "X-Twilio-Signature"
API_VERSION = "2010-04-01"
SPEECH_CONFIDENCE = "0.92"
DIAL_CALL_DURATION = "42"
SECONDS_PER_TURN = 5
STAFF_KEYS = {"accept": "1", "decline": "2"}


# what the transcript says when a transfer does not connect: by the staff side's action, else the dial status
TRANSFER_WORDS = {
    "decline": "[transfer declined: staff pressed 2, the AI receptionist carries on]",
    "no-answer": "[transfer not answered: nobody at the front desk picked up]",
    "busy": "[transfer not answered: the front desk line was busy]",
}


class SimulatorError(RuntimeError):
    """TwiML the simulator cannot play the way Twilio would (a `method="GET"` callback, for one)."""


class Transport(Protocol):
    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """Form-POST `params` to the absolute `url`; returns (HTTP status, body text)."""
        ...


class FlaskTransport:
    """The app in process, through its test client.

    The absolute URL is split so Flask sees the scheme, host, port (and, with `base_url`, the script root)
    that were signed: `request.url` equals the URL the signature covers.
    """

    def __init__(self, app: Flask, base_url: str | None = None) -> None:
        self.app = app
        self.client = app.test_client()
        self.base_url = base_url.rstrip("/") if base_url else None

    def _split(self, url: str) -> tuple[str, str]:
        if self.base_url and url.startswith(self.base_url + "/"):
            return self.base_url, url[len(self.base_url) :]
        parts = urllib.parse.urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        return root, url[len(root) :] or "/"

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        root, path = self._split(url)
        response = self.client.post(path, base_url=root, data=params, headers=headers)
        try:
            return response.status_code, response.get_data(as_text=True)
        finally:
            response.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # a 3xx comes back as an HTTPError: reported, not followed as a GET


class HttpTransport:
    """A running server, over HTTP with urllib: no proxies from the environment, redirects not followed."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(params).encode("utf-8")
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                charset = response.headers.get_content_charset() or "utf-8"
                return response.status, response.read().decode(charset, "replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")


StaffAction = Literal["accept", "decline", "no-answer", "busy"]


@dataclass(frozen=True)
class StaffScript:
    action: StaffAction = "accept"


@dataclass
class SimulatedCall:
    call_sid: str
    turns: list[dict[str, str]] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    whisper: list[str] = field(default_factory=list)
    ended_by: str = ""  # "hangup" | "caller" | "error"
    http_errors: list[tuple[str, int]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # every POST, in order


DEFAULT_STAFF = StaffScript()


@dataclass
class PausedCall:
    """A call waiting at a `<Gather>` for the caller's next words (stepwise calls: the dashboard's Try it). Plain
    data, so it can be kept between requests (as JSON) and the call resumed by any web worker."""

    call_sid: str
    params: dict[str, str]
    action: str
    inputs: list[str]
    finish_on_key: str
    turns: list[dict[str, str]]
    transcript: list[str]
    dialed: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "call_sid": self.call_sid,
            "params": self.params,
            "action": self.action,
            "inputs": self.inputs,
            "finish_on_key": self.finish_on_key,
            "turns": self.turns,
            "transcript": self.transcript,
            "dialed": self.dialed,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PausedCall:
        return cls(
            **{
                k: body[k]
                for k in (
                    "call_sid",
                    "params",
                    "action",
                    "inputs",
                    "finish_on_key",
                    "turns",
                    "transcript",
                    "dialed",
                )
            }
        )


def transcript_text(call: SimulatedCall) -> str:
    """The transcript as printed by `receptionist call`: one line per event."""
    return "\n".join(call.transcript)


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


class CallSimulator:
    def __init__(
        self,
        transport: Transport,
        *,
        base_url: str,
        auth_token: str,
        account_sid: str = "AC" + "0" * 32,
        max_steps: int = 60,
        clock: Clock = system_clock,
    ) -> None:
        self.transport = transport
        self.clock = clock  # the callbacks' Timestamp
        self.base_url = base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.account_sid = account_sid
        self.max_steps = max_steps

    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(self.validator.compute_signature(url, params))

    def call(
        self,
        *,
        from_: str,
        to: str,
        says: Sequence[str | None] = (),
        digits: Sequence[str | None] = (),
        staff: StaffScript = DEFAULT_STAFF,
        extra_params: dict[str, str] | None = None,
        fetch_outcome: bool = True,
    ) -> SimulatedCall:
        """Place one inbound call from `from_` to `to` and play it to the end."""
        walk = _Walk(
            self, from_=from_, to=to, says=says, digits=digits, staff=staff, extra_params=extra_params or {}
        )
        walk.run()
        if fetch_outcome:
            walk.fetch_outcome()
        return walk.result

    def start(
        self, *, from_: str, to: str, staff: StaffScript = DEFAULT_STAFF
    ) -> tuple[SimulatedCall, PausedCall | None]:
        """Place a call stepwise: play it up to the first prompt that waits for the caller. Returns what was heard
        and the paused call (None when the call already ended, e.g. put through to staff)."""
        walk = _Walk(self, from_=from_, to=to, says=(), digits=(), staff=staff, extra_params={})
        walk.pausable = True
        walk.run()
        walk.fetch_outcome()
        return walk.result, walk.paused

    def resume(
        self, paused: PausedCall, said: str | None, *, staff: StaffScript = DEFAULT_STAFF
    ) -> tuple[SimulatedCall, PausedCall | None]:
        """Go on with a paused call: the caller says `said` (digits at a keypad prompt), or hangs up (None)."""
        walk = _Walk(
            self,
            from_=paused.params.get("From", ""),
            to=paused.params.get("To", ""),
            says=(),
            digits=(),
            staff=staff,
            extra_params=dict(paused.params),
        )
        walk.pausable = True
        walk.answered = True
        walk.result.turns = [dict(t) for t in paused.turns]
        walk.result.transcript = list(paused.transcript)
        walk.result.dialed = list(paused.dialed)
        walk.run(lambda: walk.answer_paused(paused, said))
        walk.fetch_outcome()
        return walk.result, walk.paused

    def answer(
        self,
        *,
        call_sid: str,
        url: str,
        from_: str,
        to: str,
        says: Sequence[str | None] = (),
        digits: Sequence[str | None] = (),
        status_callback: str | None = None,
        on_answered: Callable[[], None] | None = None,
        replaced: Callable[[], str | None] | None = None,
        final_sequence: int = 0,
    ) -> SimulatedCall:
        """Play the answering side of an outbound call (`calls.create(url=...)`): fetch `url` as Twilio does
        once the callee picks up, then follow the TwiML with `says` as the callee's speech. `on_answered` runs
        after the first document arrives (where answering-machine detection reports); `replaced` returns
        TwiML that a REST update put on the live call, which Twilio then plays instead."""
        walk = _Walk(
            self,
            from_=from_,
            to=to,
            says=says,
            digits=digits,
            staff=DEFAULT_STAFF,
            extra_params={"Direction": "outbound-api", "CallSid": call_sid},
        )
        walk.final_sequence = final_sequence
        walk.start_url = url
        walk.status_url = status_callback
        walk.on_answered = on_answered
        walk.replaced = replaced
        walk.run()
        return walk.result


# --- one call --------------------------------------------------------------------------------------------


@dataclass
class _Fetch:
    url: str
    params: dict[str, str]


class _Pause(Exception):
    def __init__(self, gather: ET.Element, action: str) -> None:
        super().__init__("waiting for the caller")
        self.gather = gather
        self.action = action


class _End(Exception):
    def __init__(self, ended_by: str, line: str) -> None:
        super().__init__(line)
        self.ended_by = ended_by
        self.line = line


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _geo(number: str, prefix: str) -> dict[str, str]:
    """Plausible caller-ID location fields, as Twilio fills them (empty when unknown)."""
    if number.startswith("+1"):
        values = ("WASHINGTON", "DC", "20004", "US")
    else:
        values = ("", "", "", "")
    return {
        f"{prefix}{name}": value
        for name, value in zip(("City", "State", "Zip", "Country"), values, strict=True)
    }


class _Walk:
    def __init__(
        self,
        sim: CallSimulator,
        *,
        from_: str,
        to: str,
        says: Sequence[str | None],
        digits: Sequence[str | None],
        staff: StaffScript,
        extra_params: dict[str, str],
    ) -> None:
        self.sim = sim
        self.staff = staff
        self.says: deque[str | None] = deque(says)
        self.digits: deque[str | None] = deque(digits)
        self.result = SimulatedCall(call_sid=extra_params.get("CallSid") or new_call_sid())
        self.steps = 0
        self.heard: list[str] = []
        self.answered = False  # something other than <Reject> was played
        self.final_status = "completed"
        self.start_url = f"{sim.base_url}/voice/inbound"
        self.status_url: str | None = f"{sim.base_url}/voice/status"
        self.on_answered: Callable[[], None] | None = None
        self.replaced: Callable[[], str | None] | None = None
        self.final_sequence = 0  # the stand-in API sends the earlier progress events of an outbound call
        self.pausable = (
            False  # stepwise: a prompt with no scripted input pauses the call instead of ending it
        )
        self.paused: PausedCall | None = None
        self.params: dict[str, str] = {
            "CallSid": self.result.call_sid,
            "AccountSid": sim.account_sid,
            "From": from_,
            "To": to,
            "Called": to,
            "Caller": from_,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
            **_geo(from_, "From"),
            **_geo(from_, "Caller"),
            **_geo(to, "To"),
            **_geo(to, "Called"),
            **extra_params,
        }

    # -- requests

    def _post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        headers = {
            SIGNATURE_HEADER: self.sim.sign(url, params),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        self.result.requests.append((url, dict(params)))
        try:
            return self.sim.transport.post(url, params, headers)
        except OSError:
            return 0, ""

    def _fetch(self, url: str, params: dict[str, str]) -> tuple[str, ET.Element]:
        if self.steps >= self.sim.max_steps:
            raise _End("error", f"[error: stopped after {self.sim.max_steps} requests]")
        self.steps += 1
        status, body = self._post(url, params)
        if not 200 <= status < 300:
            self.result.http_errors.append((url, status))
            raise _End("error", f"[error: POST {url} -> HTTP {status}]")
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            root = None
        if root is None or _tag(root) != "Response":
            self.result.http_errors.append((url, status))
            raise _End("error", f"[error: POST {url} did not return a TwiML <Response>]")
        return url, root

    def call_params(self) -> dict[str, str]:
        return {**self.params, "CallStatus": "in-progress"}

    @staticmethod
    def _resolve(doc_url: str, element: ET.Element, url: str | None) -> str:
        method = (element.get("method") or "POST").upper()
        if method != "POST":
            raise SimulatorError(
                f'<{_tag(element)} method="{method}"> in {doc_url}: the simulator only plays POST webhooks'
            )
        return urllib.parse.urljoin(doc_url, url) if url else doc_url

    # -- what the caller hears and says

    def _hear(self, text: str) -> None:
        if text:
            self.result.transcript.append(f"receptionist: {text}")
            self.heard.append(text)

    def _flush_heard(self) -> None:
        if not self.heard:
            return
        said = " ".join(self.heard)
        self.heard.clear()
        if self.result.turns:
            last = self.result.turns[-1]
            last["receptionist"] = f"{last['receptionist']} {said}".strip()
        else:
            self.result.turns.append({"caller": "", "receptionist": said})

    def _caller(self, text: str) -> None:
        self._flush_heard()
        self.result.turns.append({"caller": text, "receptionist": ""})
        self.result.transcript.append(f"caller: {text}")

    def _play_prompt(self, element: ET.Element) -> None:
        tag = _tag(element)
        if tag == "Say":
            self._hear(_text(element))
        elif tag == "Play":
            self.result.transcript.append(f"[plays {_text(element)}]")

    # -- the walk

    def run(self, resume: Callable[[], _Fetch] | None = None) -> None:
        try:
            step = _Fetch(self.start_url, dict(self.params)) if resume is None else resume()
            first = resume is None
            while True:
                doc_url, root = self._fetch(step.url, step.params)
                if first and self.on_answered is not None:
                    self.on_answered()
                first = False
                update = self.replaced() if self.replaced is not None else None
                if update is not None:  # a REST update replaced the call's TwiML: Twilio plays that instead
                    doc_url, root = doc_url, ET.fromstring(update)
                step = self._play(root, doc_url)
        except _Pause as pause:
            self._flush_heard()
            gather = pause.gather
            self.paused = PausedCall(
                self.result.call_sid,
                dict(self.params),
                pause.action,
                sorted((gather.get("input") or "dtmf").split()),
                gather.get("finishOnKey", "#"),
                self.result.turns,
                self.result.transcript,
                self.result.dialed,
            )
            return
        except _End as end:
            self._flush_heard()
            self.result.ended_by = end.ended_by
            self.result.transcript.append(end.line)
        self._status_callback()

    def answer_paused(self, paused: PausedCall, said: str | None) -> _Fetch:
        """The caller's answer to the prompt a stepwise call paused at: words, keys (a keypad-only prompt takes
        the digits in what was typed), or None for hanging up."""
        text = " ".join((said or "").split())
        if not text:
            raise _End("caller", "[caller hangs up]")
        if "speech" in paused.inputs:
            self._caller(text)
            return _Fetch(
                paused.action, {**self.call_params(), "SpeechResult": text, "Confidence": SPEECH_CONFIDENCE}
            )
        pressed = "".join(ch for ch in text if ch.isdigit() or ch in "*#")
        if not pressed:
            raise SimulatorError("this prompt takes keys only: type the digits to press")
        self._caller(f"[pressed {pressed}]")
        params = {**self.call_params(), "Digits": pressed}
        finish = paused.finish_on_key
        if finish and pressed.endswith(finish):
            params.update(Digits=pressed[: -len(finish)], FinishedOnKey=finish)
        return _Fetch(paused.action, params)

    def _play(self, root: ET.Element, doc_url: str) -> _Fetch:
        for verb in root:
            tag = _tag(verb)
            if tag == "Reject":
                if not self.answered:
                    self.final_status = "busy" if verb.get("reason") == "busy" else "no-answer"
                raise _End("hangup", "[rejected]")
            self.answered = True
            if tag in ("Say", "Play", "Pause"):
                self._play_prompt(verb)
            elif tag == "Hangup":
                raise _End("hangup", "[hangup]")
            elif tag == "Redirect":
                return _Fetch(self._resolve(doc_url, verb, _text(verb)), self.call_params())
            elif tag == "Gather":
                step = self._gather(verb, doc_url)
                if step is not None:
                    return step
            elif tag == "Dial":
                step = self._dial(verb, doc_url)
                if step is not None:
                    return step
            else:
                raise _End("error", f"[error: the simulator cannot play <{tag}>]")
        raise _End("hangup", "[hangup]")

    def _gather(self, gather: ET.Element, doc_url: str) -> _Fetch | None:
        for child in gather:
            self._play_prompt(child)
        action = self._resolve(doc_url, gather, gather.get("action"))
        inputs = set((gather.get("input") or "dtmf").split())
        speech, dtmf = "speech" in inputs, "dtmf" in inputs
        said: str | None = None
        pressed: str | None = None
        if speech and self.says:
            said = self.says.popleft()
            if said is None and dtmf and self.digits:
                pressed = self.digits.popleft()
        elif dtmf and self.digits:
            pressed = self.digits.popleft()
        elif self.pausable:
            raise _Pause(gather, action)
        else:
            raise _End("caller", "[caller hangs up]")
        if said:
            self._caller(said)
            return _Fetch(
                action, {**self.call_params(), "SpeechResult": said, "Confidence": SPEECH_CONFIDENCE}
            )
        if pressed:
            self._caller(f"[pressed {pressed}]")
            params = {**self.call_params(), "Digits": pressed}
            finish = gather.get("finishOnKey", "#")
            if finish and pressed.endswith(finish):
                params.update(Digits=pressed[: -len(finish)], FinishedOnKey=finish)
            return _Fetch(action, params)
        self._caller("[silence]")
        if (gather.get("actionOnEmptyResult") or "").lower() == "true":
            return _Fetch(action, self.call_params())
        return None

    def _dial(self, dial: ET.Element, doc_url: str) -> _Fetch | None:
        action = self._resolve(doc_url, dial, dial.get("action")) if dial.get("action") else None
        nouns = [child for child in dial if _tag(child) in ("Number", "Client", "Sip", "Conference", "Queue")]
        targets = [_text(n) if _tag(n) == "Number" else f"{_tag(n).lower()}:{_text(n)}" for n in nouns]
        if not nouns and _text(dial):
            targets = [_text(dial)]
        if not targets:
            raise _End("error", f"[error: <Dial> with nothing to dial in {doc_url}]")
        self.result.dialed.extend(targets)
        first = nouns[0] if nouns else None
        child_sid = new_call_sid()
        child_params = {
            "CallSid": child_sid,
            "ParentCallSid": self.result.call_sid,
            "AccountSid": self.sim.account_sid,
            "From": dial.get("callerId") or self.params["To"],
            "To": targets[0],
            "Caller": dial.get("callerId") or self.params["To"],
            "Called": targets[0],
            "CallStatus": "in-progress",
            "Direction": "outbound-dial",
            "ApiVersion": API_VERSION,
        }
        whisper = first if first is not None and _tag(first) == "Number" and first.get("url") else None
        line = f"[dial {', '.join(targets)}]"
        action_kind = self.staff.action
        if action_kind in STAFF_KEYS and whisper is not None:
            connected = self._whisper(whisper, doc_url, child_params, line)
        else:
            self.result.transcript.append(line)
            connected = action_kind == "accept"
        status = "completed" if connected else "busy" if action_kind == "busy" else "no-answer"
        self.result.transcript.append(
            "[connected to staff]" if connected else TRANSFER_WORDS.get(action_kind, TRANSFER_WORDS[status])
        )
        if first is not None and first.get("statusCallback"):
            callback = urllib.parse.urljoin(doc_url, first.get("statusCallback"))
            self._side_post(
                callback,
                {
                    **child_params,
                    "CallStatus": status,
                    **({"CallDuration": DIAL_CALL_DURATION} if connected else {}),
                },
            )
        if action:
            params = {**self.call_params(), "DialCallStatus": status, "DialCallSid": child_sid}
            if connected:
                params["DialCallDuration"] = DIAL_CALL_DURATION
            return _Fetch(action, params)
        if connected:
            raise _End("hangup", "[hangup]")
        return None  # Twilio goes on with the next verb

    def _whisper(self, number: ET.Element, doc_url: str, child_params: dict[str, str], line: str) -> bool:
        """Play the whisper on the staff leg; True when the legs connect."""
        key = STAFF_KEYS[self.staff.action]
        step: _Fetch | None = _Fetch(self._resolve(doc_url, number, number.get("url")), child_params)
        first_doc = True
        while step is not None:
            url, root = self._fetch(step.url, step.params)
            step, texts, hung_up, pressed = None, [], False, False
            for verb in root:
                tag = _tag(verb)
                if tag == "Say":
                    texts.append(_text(verb))
                elif tag in ("Play", "Pause"):
                    continue
                elif tag == "Gather":
                    texts += [_text(c) for c in verb if _tag(c) == "Say"]
                    step = _Fetch(
                        self._resolve(url, verb, verb.get("action")), {**child_params, "Digits": key}
                    )
                    pressed = True
                    break
                elif tag == "Redirect":
                    step = _Fetch(self._resolve(url, verb, _text(verb)), child_params)
                    break
                elif tag in ("Hangup", "Reject"):
                    hung_up = True
                    break
                else:
                    raise _End("error", f"[error: the simulator cannot play <{tag}> on the whisper leg]")
            texts = [t for t in texts if t]
            self.result.whisper.extend(texts)
            if first_doc:
                self.result.transcript.append(
                    f"{line[:-1]}: staff whisper: {' '.join(texts)}]" if texts else line
                )
            elif texts:
                self.result.transcript.append(f"[staff whisper: {' '.join(texts)}]")
            first_doc = False
            if pressed:
                self.result.transcript.append(f"[staff pressed {key}]")
            if hung_up:
                self.result.transcript.append("[staff hung up]")
                return False
        if key != STAFF_KEYS["accept"]:
            self.result.transcript.append("[staff hung up]")
            return False
        return True

    # -- after the call

    def _side_post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        status, body = self._post(url, params)
        if not 200 <= status < 300:
            self.result.http_errors.append((url, status))
        return status, body

    def _status_callback(self) -> None:
        params = {
            **self.params,
            "CallStatus": self.final_status,
            "CallDuration": str(SECONDS_PER_TURN * len(self.result.turns)),
            "SequenceNumber": str(self.final_sequence),
            "CallbackSource": "call-progress-events",
            "Timestamp": email.utils.format_datetime(self.sim.clock()),
        }
        if self.status_url:
            self._side_post(self.status_url, params)

    def fetch_outcome(self) -> None:
        url = f"{self.sim.base_url}/voice/outcome"
        status, body = self._side_post(url, {"CallSid": self.result.call_sid})
        if not 200 <= status < 300:
            return
        try:
            outcome = json.loads(body)
        except ValueError:
            outcome = None
        if isinstance(outcome, dict):
            self.result.outcome = outcome
        else:
            self.result.http_errors.append((url, status))
