"""The offline engine's dialogue state: what the caller wants so far (the frame), what was offered, where the
conversation stands. Kept as JSON in the call state between turns (`Reply.state`), read back leniently: an
unknown key is dropped, a missing one takes its default, a state from an older release starts afresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from typing import Any

VERSION = 2

# Where the conversation stands: what the last question was.
STAGES = (
    "menu",  # "How can I help you today?"
    "anything_else",  # after a finished task
    "offer",  # a time offered ("Shall I book it?"), alternatives on request
    "ask_when",  # "What day and time would suit you?"
    "ask_name",  # an unknown caller's name, before booking
    "ask_for_whom",  # "Who is the visit for?"
    "ask_dependent_name",  # a family member not on file: their name
    "ask_dependent_dob",  # ... and their date of birth
    "ask_dob",  # the identity check
    "ask_identity",  # an unknown number: full name and date of birth
    "choose_appt",  # which of several appointments
    "confirm_cancel",
    "confirm_move",
    "ask_late",  # how late
    "message",  # the caller's message
    "message_more",  # "Anything else to add to the message?"
    "offer_transfer",  # "Shall I put you through?"
    "ask_channel",  # "How would you like us to reach you?"
    "offer_book",  # an outbound call's "Would you like to book a cleaning?"
    "done",
)


@dataclass
class Frame:
    """The visit being arranged: for whom, what, with whom, and when it may or may not be."""

    for_patient: str | None = None
    for_name: str | None = None  # a family member's first name, to say
    for_relation: str | None = None
    dependent_first: str | None = None  # a family member not on file yet
    dependent_last: str | None = None
    age: int | None = None
    kind: str | None = None  # what the caller asked for (a practice-file kind)
    visit_type: str | None = None
    provider: str | None = None
    excluded_providers: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)  # ISO dates
    weekdays: list[int] = field(default_factory=list)
    excluded_days: list[str] = field(default_factory=list)
    excluded_weekdays: list[int] = field(default_factory=list)
    earliest_minute: int | None = None
    latest_minute: int | None = None
    near_minute: int | None = None  # "at ten": the closest start first
    excluded_windows: list[list[int]] = field(default_factory=list)
    urgent: bool = False
    same_day: bool = False
    after: str | None = None  # no earlier than this (ISO): "push it back a week"
    named_day: str | None = None  # the last day the caller named (ISO), even one the office is closed

    def day_dates(self) -> list[dt.date]:
        return [dt.date.fromisoformat(d) for d in self.days]


@dataclass
class Offer:
    unit_id: int
    start: str  # ISO, the location's time
    provider: str
    minutes: int

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.start)


@dataclass
class DialogueState:
    v: int = VERSION
    stage: str = "menu"
    task: str | None = None  # book | reschedule | cancel | confirm | late
    frame: Frame = field(default_factory=Frame)
    offers: list[Offer] = field(default_factory=list)  # offered now, best first
    shown: list[int] = field(default_factory=list)  # unit ids offered so far in this search
    pick: int | None = None  # None: only the best offer was read; k: the caller last heard offers[k:]
    appts: list[dict[str, Any]] = field(default_factory=list)  # the patient's appointments, once identified
    target: int | None = None  # the appointment id being moved or cancelled
    id_for: str | None = None  # whose identity is being checked
    id_tries: int = 0
    resume: str | None = None  # the task to take up once identity is confirmed
    message: list[str] = field(default_factory=list)  # the caller's words for the team
    message_about: str = "message"
    message_priority: str = "normal"
    misses: int = 0  # turns in a row not understood
    silences: int = 0
    question: str = ""  # the last question, to ask again after an aside
    expecting: str | None = None  # what the last question asked for (the understanding's hint)
    booked: list[int] = field(default_factory=list)  # appointment ids booked in this call
    just_booked: int | None = None  # the booking made in the last turn ("actually, don't book it")
    last_said: str = ""  # the last reply, for "could you say that again?"
    asked_pharmacy: bool = False
    language: str = "en"
    apologised: bool = False
    vendor: bool = False  # a sales call: messages, never a transfer
    choices: list[str] = field(default_factory=list)  # family members the caller was asked to choose between
    hint_days: list[str] = field(
        default_factory=list
    )  # what named the appointment to change ("my Friday one")
    hint_weekdays: list[int] = field(default_factory=list)
    hint_kind: str | None = None
    relative: list[str] = field(default_factory=list)  # same_day, same_time, later, earlier, week_later
    opted_out: bool = False
    # the time on offer when the caller asked for an earlier one (ISO): booking no earlier puts them on the
    # ASAP list
    wanted_before: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data or data.get("v") != VERSION:
            return cls()
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        frame = values.get("frame")
        if isinstance(frame, dict):
            frame_known = {f.name for f in fields(Frame)}
            values["frame"] = Frame(**{k: v for k, v in frame.items() if k in frame_known})
        else:
            values.pop("frame", None)
        offers = values.get("offers")
        if isinstance(offers, list):
            values["offers"] = [
                Offer(int(o["unit_id"]), str(o["start"]), str(o["provider"]), int(o["minutes"]))
                for o in offers
                if isinstance(o, dict) and {"unit_id", "start", "provider", "minutes"} <= set(o)
            ]
        else:
            values.pop("offers", None)
        if values.get("stage") not in STAGES:
            values["stage"] = "menu"
        try:
            return cls(**values)
        except TypeError:
            return cls()
