"""Decisions -> TwiML, with the twilio package's builders only (no hand-written markup).

The two documents every inbound call gets (`listen`, `transfer`) are built by the builders once per shape
(the same action URLs and staff numbers) with markers where the per-call text goes, then filled with the
escaped text per call: the builders and their serialisation cost more than the rest of routing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from twilio.twiml.voice_response import Connect, Dial, Gather, VoiceResponse

VOICE = "Polly.Joanna"
LANGUAGE = "en-US"
GATHER_TIMEOUT = 6
DIAL_TIMEOUT = 20
WHISPER_TIMEOUT = 8


# What XML 1.0 cannot carry (C0 controls but tab, newline and return; lone surrogates; U+FFFE, U+FFFF), and
# text from a patient's record (a name with a stray control
# character from a PMS export) would otherwise make the whole document invalid, and Twilio drops the call leg.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Text as TwiML can carry it: characters XML forbids are dropped."""
    return _NOT_XML.sub("", text)


def _say(node: VoiceResponse | Gather, text: str) -> None:
    node.say(clean(text), voice=VOICE, language=LANGUAGE)


_SLOT = re.compile("\ue000([0-9]+)\ue000")  # a private-use character the builders pass through as is
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#09;"}
)


@functools.lru_cache(maxsize=256)
def _skeleton(build: Callable[..., str], fixed: tuple[Any, ...], slots: tuple[str, ...]) -> tuple[str, ...]:
    """The document `build` makes, split at the slots: literal, slot index, literal, ..."""
    doc = build(**dict(fixed), **{name: f"\ue000{i}\ue000" for i, name in enumerate(slots)})
    return tuple(_SLOT.split(doc))


def _fill(build: Callable[..., str], fixed: dict[str, Any], values: dict[str, str]) -> str:
    """`build(**fixed, **values)`, from the cached skeleton; values escaped as XML (text or attribute)."""
    slots = tuple(values)
    parts = _skeleton(build, tuple(fixed.items()), slots)
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        out.append(clean(str(values[slots[int(parts[k])]])).translate(_ESCAPES))
        out.append(parts[k + 1])
    return "".join(out)


def listen(text: str, *, action: str, on_silence: str) -> str:
    """Say, then listen for speech (or keys); silence falls through to the Redirect."""
    return _fill(_listen, {"action": action, "on_silence": on_silence}, {"text": text})


def _listen(text: str, *, action: str, on_silence: str) -> str:
    response = VoiceResponse()
    gather = Gather(
        input="speech dtmf",
        action=action,
        method="POST",
        speech_timeout="auto",
        timeout=GATHER_TIMEOUT,
        language=LANGUAGE,
        speech_model="phone_call",
        action_on_empty_result=False,
    )
    _say(gather, text)
    response.append(gather)
    response.redirect(on_silence, method="POST")
    return str(response)


def hold(text: str, *, redirect: str) -> str:
    """A holding line while a slow turn finishes, then fetch its result."""
    response = VoiceResponse()
    _say(response, text)
    response.redirect(redirect, method="POST")
    return str(response)


def relay(*, url: str, action: str, greeting: str) -> str:
    """Hand the call to ConversationRelay (Twilio does speech both ways; our websocket at `url` answers);
    `action` gets the call back when the session ends (`handoffData`: a transfer, say)."""
    response = VoiceResponse()
    connect = Connect(action=action, method="POST")
    connect.conversation_relay(
        url=url,
        welcome_greeting=greeting,
        language=LANGUAGE,
        dtmf_detection=True,
        interruptible="any",
        welcome_greeting_interruptible="none",
    )
    response.append(connect)
    return str(response)


def say_and_hangup(text: str) -> str:
    response = VoiceResponse()
    _say(response, text)
    response.hangup()
    return str(response)


def transfer(
    text: str, numbers: Sequence[str], *, whisper: str, action: str, caller_id: str | None = None
) -> str:
    """Ring every staff number at once; each staff leg hears the whisper before the caller is connected."""
    fixed = {"numbers": tuple(numbers), "action": action, "caller_id": caller_id}
    if not text:
        return _fill(_transfer, {**fixed, "text": ""}, {"whisper": whisper})
    return _fill(_transfer, fixed, {"text": text, "whisper": whisper})


def _transfer(
    text: str, numbers: Sequence[str], *, whisper: str, action: str, caller_id: str | None = None
) -> str:
    response = VoiceResponse()
    if text:
        _say(response, text)
    dial = Dial(
        action=action, method="POST", timeout=DIAL_TIMEOUT, answer_on_bridge=True, caller_id=caller_id
    )
    for number in numbers:
        dial.number(number, url=whisper, method="POST")
    response.append(dial)
    return str(response)


def whisper(text: str, *, action: str) -> str:
    """The staff leg: who is calling and why they matter; 1 takes the call, anything else returns it."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, action=action, method="POST", timeout=WHISPER_TIMEOUT)
    _say(gather, text)
    response.append(gather)
    _say(response, "No key pressed. The assistant will look after the caller.")
    response.hangup()
    return str(response)


def connect() -> str:
    """An empty document on the staff leg: the legs are bridged."""
    return str(VoiceResponse())


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def bridge_prompt(text: str, *, action: str) -> str:
    """The staff leg of "call now": who they are about to call; 1 places the call, nothing ends it."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=1, action=action, method="POST", timeout=WHISPER_TIMEOUT)
    _say(gather, text)
    response.append(gather)
    _say(response, "No key pressed. Not calling. Goodbye.")
    response.hangup()
    return str(response)


def dial(number: str, *, caller_id: str, action: str) -> str:
    """Connect this leg to one number, shown the practice's number; `action` hears how it ended."""
    response = VoiceResponse()
    dial = Dial(action=action, method="POST", timeout=DIAL_TIMEOUT + 10, caller_id=caller_id)
    dial.number(number)
    response.append(dial)
    return str(response)


def sms_replies(texts: list[str]) -> str:
    """A Messaging webhook's answer: several reply texts, in order (each one segment: `texting.sms`)."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    for text in texts:
        if text:
            response.message(clean(text))
    return str(response)


def sms_reply(text: str | None) -> str:
    """A Messaging webhook's answer: one reply text, or none."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(clean(text))
    return str(response)
