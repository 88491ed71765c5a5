"""Decisions -> TwiML, with the twilio package's builders only (no string templates)."""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import Connect, Dial, Gather, VoiceResponse

VOICE = "Polly.Joanna"
LANGUAGE = "en-US"
GATHER_TIMEOUT = 6
DIAL_TIMEOUT = 20
WHISPER_TIMEOUT = 8


def _say(node, text: str) -> None:  # noqa: ANN001 - VoiceResponse or Gather
    node.say(text, voice=VOICE, language=LANGUAGE)


def listen(text: str, *, action: str, on_silence: str) -> str:
    """Say, then listen for speech (or keys); silence falls through to the Redirect."""
    response = VoiceResponse()
    gather = Gather(input="speech dtmf", action=action, method="POST", speech_timeout="auto",
                    timeout=GATHER_TIMEOUT, language=LANGUAGE, speech_model="phone_call", action_on_empty_result=False)
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
    connect.conversation_relay(url=url, welcome_greeting=greeting, language=LANGUAGE, dtmf_detection=True,
                               interruptible="any", welcome_greeting_interruptible="none")
    response.append(connect)
    return str(response)


def say_and_hangup(text: str) -> str:
    response = VoiceResponse()
    _say(response, text)
    response.hangup()
    return str(response)


def transfer(text: str, numbers: Sequence[str], *, whisper: str, action: str, caller_id: str | None = None) -> str:
    """Ring every staff number at once; each staff leg hears the whisper before the caller is connected."""
    response = VoiceResponse()
    if text:
        _say(response, text)
    dial = Dial(action=action, method="POST", timeout=DIAL_TIMEOUT, answer_on_bridge=True, caller_id=caller_id)
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


def sms_reply(text: str | None) -> str:
    """A Messaging webhook's answer: one reply text, or none."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)
