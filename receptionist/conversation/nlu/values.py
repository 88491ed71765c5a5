"""The values the entity reader returns: frozen dataclasses, every field documented in one line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class TimeWindow:
    """A span of the day the caller wants: minutes after midnight, either end open."""

    earliest: int | None = None  # the first minute of the day that suits ("after 3" -> 900)
    latest: int | None = None  # the last minute of the day that suits ("before noon" -> 720)
    at: int | None = None  # a point asked for ("at 2:30" -> 870, "around ten" -> 600)
    part: str | None = None  # a part of the day named: early_morning, morning, lunchtime, afternoon, ...


@dataclass(frozen=True)
class DateSpan:
    """A run of days wanted ("next week", "later this month"), inclusive."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class OfferRef:
    """A pointer at a slot that was offered; at most one of the fields is set."""

    index: int | None = None  # 0-based position ("the first one" -> 0, "option 2" -> 1); -1 = the last
    weekday: int | None = None  # "the Friday one" -> 4 (0 = Monday)
    minute: int | None = None  # "the 10 am" -> 600 (minutes after midnight)
    earliest: bool = False  # "the earliest", "the earlier one"
    latest: bool = False  # "the latest", "the later one"


@dataclass(frozen=True)
class ProviderRef:
    """A provider asked for (or refused): one of the practice's names, or only a role."""

    name: str | None = None  # the practice's own spelling ("Dr. Chen"), when one matched
    role: str | None = None  # "dentist" | "hygienist" | ... from the title said or the provider's title
    heard: str | None = None  # the name as heard, when it matched none of the practice's providers


@dataclass(frozen=True)
class Person:
    """Who the visit is for, when it is not (only) the caller."""

    relation: str  # "daughter", "son", "child", "husband", "mother", ... or "self"
    name: str | None = None  # "Emma"
    age: int | None = None  # years, when said ("he's 7")


@dataclass(frozen=True)
class CallerName:
    """The caller's own name as said."""

    first: str | None = None
    last: str | None = None


@dataclass(frozen=True)
class Symptom:
    """A symptom named, and whether the caller said they do not have it."""

    kind: str  # pain, bleeding, swelling, broken_tooth, lost_filling, breathing, chest_pain, ...
    negated: bool = False  # "I'm not bleeding" -> True


@dataclass(frozen=True)
class Entities:
    """Everything a turn says beyond its intents; every field empty when not said."""

    days: tuple[dt.date, ...] = ()  # dates wanted, resolved against now ("Tuesday", "the 5th", "tomorrow")
    weekdays: tuple[int, ...] = ()  # weekdays wanted (0 = Monday), said alone or as a habit ("Fridays")
    span: DateSpan | None = None  # a run of days wanted ("next week", "in two weeks", "next month")
    excluded_days: tuple[dt.date, ...] = ()  # dates refused ("not Monday", "Thursday's bad")
    excluded_weekdays: tuple[int, ...] = ()  # weekdays refused
    window: TimeWindow | None = None  # the time of day wanted ("after 3", "before noon", "mornings")
    excluded_parts: tuple[str, ...] = ()  # parts of the day refused ("anything but mornings")
    soonest: bool = False  # "whatever's soonest", "first available", "any time is fine"
    offer_ref: OfferRef | None = None  # which offered slot ("the first one", "the Friday one", "the 10 am")
    weekday_after: int | None = (
        None  # "the Monday after": that weekday after the day named before (0 = Monday)
    )
    correction: bool = False  # "make it Friday instead": the days and times replace what was said before
    dob: dt.date | None = None  # a date of birth
    provider: ProviderRef | None = None  # the provider asked for ("with Dr. Chen", "the hygienist")
    excluded_provider: ProviderRef | None = None  # the provider refused ("anyone but Dr. Patel")
    visit_kind: str | None = None  # cleaning, checkup, exam, filling, crown, implant, whitening, ...
    for_whom: tuple[Person, ...] = ()  # who the visit is for ("my daughter Emma", "my son, he's 7")
    caller_name: CallerName | None = None  # "my name is Ann Lee", "this is Bob"
    whose: str | None = (
        None  # the name whose record is asked about ("when is Margaret Ellison's appointment")
    )
    minutes_late: int | None = None  # "about fifteen minutes late" -> 15
    symptoms: tuple[Symptom, ...] = ()  # symptoms named, each with whether it was denied
    numbers: tuple[int, ...] = ()  # every number said, in order ("two thirty" -> 2, 30)
