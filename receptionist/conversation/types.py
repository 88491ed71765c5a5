"""Domain messages of a conversation: frozen dataclasses, no wire formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Action = Literal["listen", "transfer", "hangup"]


@dataclass(frozen=True)
class PracticeFacts:
    """What any caller may be told: the practice's own data."""

    practice_name: str
    location_name: str
    address: str
    hours_text: str  # "Monday to Friday, 8 AM to 5 PM"
    phone: str  # the location's main number, E.164
    timezone: str


@dataclass(frozen=True)
class CallContext:
    """Who is calling and when. `tier` steers routing only; engines never say it or pass it to a model."""

    call_sid: str
    facts: PracticeFacts
    now: dt.datetime  # aware, in the location's time zone
    is_open: bool
    caller_phone: str | None
    patient_id: str | None
    first_name: str | None
    direction: Literal["inbound", "outbound"] = "inbound"
    reason: str = ""  # why the AI has the call: "routine", "after_hours", "transfer_failed", "reactivation"


@dataclass(frozen=True)
class Utterance:
    """One caller turn: speech (with Twilio's confidence) and/or keys pressed; both None means silence."""

    speech: str | None = None
    digits: str | None = None
    confidence: float | None = None

    @property
    def is_silence(self) -> bool:
        return not (self.speech or "").strip() and not (self.digits or "").strip()

    @property
    def transcript(self) -> str:
        """The turn as the call's transcript shows it: the words, "[pressed 3]", or "" for silence."""
        return self.speech or (f"[pressed {self.digits}]" if self.digits else "")


@dataclass(frozen=True)
class Reply:
    """What the receptionist says next and what happens after it."""

    say: str
    state: dict[str, Any] = field(default_factory=dict)  # JSON-able, kept per CallSid in Redis
    action: Action = "listen"


@dataclass(frozen=True)
class SlotView:
    id: int
    start: dt.datetime  # aware, location time
    provider: str
    minutes: int


@dataclass(frozen=True)
class AppointmentView:
    id: int
    start: dt.datetime  # aware, location time
    provider: str
    kind: str
    status: str  # "booked" | "cancelled"


class ToolError(Exception):
    """A tool refused: bad argument, slot gone, not the caller's appointment. The message is safe to say."""


class Tools(Protocol):
    """Everything an engine may do, bound to one call and acting only on the caller's own record."""

    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        """The next open slots at this location (part_of_day: "morning" | "afternoon"; weekday 0=Monday)."""

    def book(self, slot_id: int, kind: str = "cleaning") -> AppointmentView: ...

    def upcoming(self) -> list[AppointmentView]:
        """The caller's own booked appointments from now on, soonest first."""

    def reschedule(self, appointment_id: int, slot_id: int) -> AppointmentView: ...

    def cancel(self, appointment_id: int) -> AppointmentView: ...

    def register_caller(self, first_name: str, last_name: str) -> str:
        """Create a patient for an unknown caller (their phone number attached); returns the patient id."""

    def take_message(self, text: str) -> None: ...

    def queue_callback(self, reason: str, priority: str = "normal") -> None:
        """priority: "urgent" (emergencies), "high" (failed transfers of valued patients), "normal"."""

    def opt_out(self) -> None:
        """Stop all outreach to the caller, on every channel, at once."""

    def flag_emergency(self, summary: str) -> None: ...

    @property
    def patient_id(self) -> str | None: ...


class Engine(Protocol):
    """What the call flow asks of a conversation engine (the offline one and the LLM one)."""

    @property
    def slow(self) -> bool:
        """True when a turn may take seconds (a model): the flow then holds the line after `hold_after_s`,
        lets `fallback_turn` answer once `wait_s` has passed, and may stream over ConversationRelay."""

    def start(self, ctx: CallContext, tools: Tools) -> Reply:
        """The greeting (it says it is an automated assistant) and the first question."""

    def respond(
        self,
        ctx: CallContext,
        tools: Tools,
        state: dict[str, Any],
        heard: Utterance,
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        """One caller turn. `on_text` receives the reply as it is produced (streamed to the relay)."""

    def fallback_turn(self, ctx: CallContext, tools: Tools, state: dict[str, Any], heard: Utterance) -> Reply:
        """The turn answered without waiting any longer (a slow engine's turn that ran out of time)."""

    def interrupted(self, state: dict[str, Any], heard_of_reply: str) -> dict[str, Any]:
        """The caller talked over the last reply and heard only `heard_of_reply`: the state to keep."""
