"""Twilio's webhook parameters, parsed once at the edge into typed values: the call flow never sees the form.

Twilio may add parameters at any time (TWILIO.md): unknown ones are ignored here, never refused. Values are
bounded as they are read (speech to 500 characters, keys to 20) so nothing downstream meets a megabyte of
"speech". A number that does not parse is None, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_SPEECH = 500
MAX_DIGITS = 20
# Call statuses in the order a call moves through them (when a callback carries no SequenceNumber).
STATUS_ORDER = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
}
TERMINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class CallParams:
    """One voice webhook's parameters (`/voice/...`): who, which call, what was heard, how a leg ended."""

    call_sid: str = ""
    parent_call_sid: str | None = None  # a child leg's parent (the staff leg of a transfer)
    from_: str = ""  # as Twilio sent it; normalise with `phones` before use
    to: str = ""
    direction: str = "inbound"  # "inbound", "outbound-api", "outbound-dial"
    call_status: str = ""
    sequence: int | None = None  # SequenceNumber of a status callback
    call_duration: int | None = None  # seconds, on a final status
    speech: str | None = None  # SpeechResult, trimmed; None when nothing was said
    digits: str | None = None  # keys pressed
    confidence: float | None = None
    dial_call_status: str = ""  # how a <Dial> ended (the transfer result)
    dial_call_duration: int | None = None
    answered_by: str = ""  # answering-machine detection: "human", "machine_end_beep", ...
    handoff_data: str = ""  # ConversationRelay's <Connect action> (JSON, read by the relay)

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> CallParams:
        def text(name: str) -> str:
            return (form.get(name) or "").strip()

        return cls(
            call_sid=text("CallSid"),
            parent_call_sid=text("ParentCallSid") or None,
            from_=text("From"),
            to=text("To"),
            direction=text("Direction") or "inbound",
            call_status=text("CallStatus"),
            sequence=_int(form.get("SequenceNumber")),
            call_duration=_int(form.get("CallDuration")),
            speech=text("SpeechResult")[:MAX_SPEECH] or None,
            digits=text("Digits")[:MAX_DIGITS] or None,
            confidence=_float(form.get("Confidence")),
            dial_call_status=text("DialCallStatus"),
            dial_call_duration=_int(form.get("DialCallDuration")),
            answered_by=text("AnsweredBy"),
            handoff_data=form.get("HandoffData") or "",
        )

    @property
    def leg_sid(self) -> str:
        return self.call_sid

    @property
    def call(self) -> str:
        """The call this leg belongs to: the parent for a child leg, else itself."""
        return self.parent_call_sid or self.call_sid

    @property
    def is_parent_leg(self) -> bool:
        return self.call == self.call_sid

    @property
    def is_final(self) -> bool:
        return self.call_status in TERMINAL

    @property
    def status_sequence(self) -> int:
        """The callback's place in the call's order: its SequenceNumber, else the status's usual position."""
        return self.sequence if self.sequence is not None else STATUS_ORDER.get(self.call_status, 0)

    @property
    def outbound(self) -> bool:
        return self.direction != "inbound"


@dataclass(frozen=True)
class MessageParams:
    """One messaging webhook's parameters (`/sms/...`): an incoming text or a delivery status."""

    message_sid: str = ""
    from_: str = ""
    to: str = ""
    body: str = ""
    status: str = ""  # MessageStatus (or the older SmsStatus)

    @classmethod
    def parse(cls, form: Mapping[str, str]) -> MessageParams:
        return cls(
            message_sid=(form.get("MessageSid") or form.get("SmsSid") or "").strip(),
            from_=(form.get("From") or "").strip(),
            to=(form.get("To") or "").strip(),
            body=(form.get("Body") or "")[:1600],
            status=(form.get("MessageStatus") or form.get("SmsStatus") or "").strip(),
        )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
