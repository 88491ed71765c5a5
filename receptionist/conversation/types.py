"""Domain messages of a conversation: frozen dataclasses, no wire formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from receptionist.config.practice import Location, Practice
    from receptionist.scheduling.schedule import Wanted

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

    @classmethod
    def of(cls, practice: Practice, location: Location) -> PracticeFacts:
        """The facts of one location of the practice (a call's or a text's)."""
        return cls(
            practice_name=practice.name,
            location_name=location.name,
            address=location.address,
            hours_text=location.hours.describe(),
            phone=location.phone,
            timezone=location.timezone,
        )


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
    # the practice's own settings (visit types, answers, first aid): what the engines may say and book
    practice: Practice | None = None
    location: Location | None = None
    language: str = "en"  # the caller's language, when known
    # how the conversation reaches the patient: "call" (spoken lines) or "text" (written, SMS-sized lines)
    channel: Literal["call", "text"] = "call"


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
    minutes: int = 60
    patient_id: str = ""


@dataclass(frozen=True)
class Member:
    """A member of the caller's family on file (the same account holder): who a visit may be for."""

    patient_id: str
    first_name: str
    age: int | None  # whole years, from the date of birth on file
    has_dob: bool


@dataclass(frozen=True)
class CallerView:
    """What the engines know of the caller's own record: enough to choose a visit type and to know whether an
    identity check is possible. Never a date of birth, a value or a tier."""

    patient_id: str | None
    first_name: str | None
    new_patient: bool  # no visit on file (or no record at all)
    age: int | None
    has_dob: bool
    family: tuple[Member, ...] = ()


@dataclass(frozen=True)
class LateNotice:
    """What telling the practice "I'm running late" found: the visit today (not read out) and the verdict."""

    found: bool
    within_grace: bool


class ToolError(Exception):
    """A tool refused: bad argument, slot gone, not the caller's appointment. The message is safe to say."""


class Tools(Protocol):
    """Everything an engine may do, bound to one call. A visit is booked on the caller's own record or a
    family member's (`for_patient`); appointments are read, moved or cancelled only for a patient whose
    identity the caller confirmed in this call (`verified`); every other patient's data is out of reach."""

    @property
    def patient_id(self) -> str | None: ...

    @property
    def verified(self) -> frozenset[str]:
        """Patients whose date of birth the caller confirmed during this call."""

    def caller(self) -> CallerView: ...

    def openings(
        self, visit_type: str, wanted: Wanted | None = None, *, for_patient: str | None = None, limit: int = 3
    ) -> list[SlotView]:
        """The earliest open times for a visit of this type that meet what the caller wants."""

    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        """The next open slots (the LLM tools' simpler search: kind is a visit type or a kind callers ask)."""

    def book(
        self, slot_id: int, kind: str = "cleaning", *, for_patient: str | None = None
    ) -> AppointmentView: ...

    def upcoming(self, *, for_patient: str | None = None) -> list[AppointmentView]:
        """The patient's booked appointments from now on, soonest first (identity confirmed first)."""

    def reschedule(self, appointment_id: int, slot_id: int) -> AppointmentView: ...

    def cancel(self, appointment_id: int) -> AppointmentView: ...

    def verify_identity(self, date_of_birth: dt.date, *, for_patient: str | None = None) -> bool:
        """Whether the date of birth is the one on file for the patient (the caller by default)."""

    def identify(self, first_name: str, last_name: str, date_of_birth: dt.date) -> str | None:
        """A caller phoning from a number not on file: the one patient with this name and date of birth."""

    def register_caller(self, first_name: str, last_name: str, date_of_birth: dt.date | None = None) -> str:
        """Create a patient for an unknown caller (their phone number attached); returns the patient id."""

    def register_dependent(
        self, first_name: str, last_name: str | None, date_of_birth: dt.date | None, relation: str
    ) -> str:
        """A family member not on file yet, linked to the caller's family; returns the patient id."""

    def take_message(self, text: str, *, about: str = "message", priority: str = "normal") -> None:
        """The caller's words for the team, kept whole, and a callback on Today that carries them."""

    def queue_callback(
        self, reason: str, priority: str = "normal", *, kind: str = "callback", detail: str = ""
    ) -> None:
        """priority: "urgent" (emergencies), "high" (failed transfers of valued patients), "normal"."""

    def running_late(self, minutes: int | None) -> LateNotice:
        """Tell the front desk the caller runs late for today's visit (staff see which and how late)."""

    def set_contact_preference(self, channel: str, allowed: bool, note: str = "") -> dict[str, Any]:
        """Whether the caller may be reached on one channel ("call", "text", "email"), on their own record."""

    def opt_out(self) -> None:
        """Stop all outreach to the caller, on every channel, at once."""

    def flag_emergency(self, summary: str) -> None: ...

    def asap_request(
        self, kind: str, appointment_id: int | None = None, *, for_patient: str | None = None
    ) -> bool:
        """Put the patient on the ASAP list for an earlier visit of this type (before `appointment_id`'s time,
        which the earlier one replaces); True when they can be texted an offer."""

    def note(self, event: dict[str, Any]) -> None:
        """An event for the call record (what triage decided, the language heard, an identity result)."""


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
