"""Phrasing helpers for text spoken aloud by text-to-speech: dates, times, lists, addresses.

Everything returns plain sentences without markup, so Twilio's `<Say>` reads them naturally:
"Tuesday December 1st at 9 AM with Hygienist Patel".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SMALL = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
_ARTICLES = {"exam": "an exam", "examination": "an examination", "appointment": "an appointment"}


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def number_word(n: int) -> str:
    """Small counts as words ("three openings"); larger ones as digits."""
    return _SMALL[n] if 0 <= n < len(_SMALL) else str(n)


def spoken_time(value: dt.datetime | dt.time) -> str:
    """9:00 -> "9 AM", 9:30 -> "9:30 AM", 12:00 -> "noon", 13:15 -> "1:15 PM"."""
    hour, minute = value.hour, value.minute
    if hour == 12 and minute == 0:
        return "noon"
    suffix = "AM" if hour < 12 else "PM"
    h12 = hour % 12 or 12
    return f"{h12} {suffix}" if minute == 0 else f"{h12}:{minute:02d} {suffix}"


def spoken_date(day: dt.date, today: dt.date | None = None) -> str:
    """ "Tuesday December 1st"; the year only when the date is far ahead (or behind)."""
    text = f"{WEEKDAYS[day.weekday()]} {MONTHS[day.month - 1]} {ordinal(day.day)}"
    if today is not None and abs((day - today).days) > 300:
        text += f", {day.year}"
    return text


def spoken_day(day: dt.date, today: dt.date | None = None) -> str:
    """ "today", "tomorrow" or the full date."""
    if today is not None:
        if day == today:
            return "today"
        if day == today + dt.timedelta(days=1):
            return "tomorrow"
    return spoken_date(day, today)


def spoken_when(start: dt.datetime, now: dt.datetime | None = None) -> str:
    """ "today at 3 PM", "tomorrow at 9 AM", "Tuesday December 1st at 9 AM" (in `now`'s time zone)."""
    local = _local(start, now)
    today = now.date() if now is not None else None
    return f"{spoken_day(local.date(), today)} at {spoken_time(local)}"


def slot_phrase(start: dt.datetime, provider: str, now: dt.datetime | None = None) -> str:
    """ "Tuesday December 1st at 9 AM with Hygienist Patel"."""
    when = spoken_when(start, now)
    provider = clean(provider)
    return f"{when} with {provider}" if provider else when


def kind_phrase(kind: str) -> str:
    """The appointment kind with its article: "a cleaning", "an exam"."""
    kind = clean(kind or "appointment").lower() or "appointment"
    if kind in _ARTICLES:
        return _ARTICLES[kind]
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def appointment_phrase(
    kind: str, start: dt.datetime, provider: str, now: dt.datetime | None = None, *, article: str = "a"
) -> str:
    """ "a cleaning on Tuesday December 1st at 9 AM with Hygienist Patel" (article "your" or "the" too)."""
    kind = clean(kind or "appointment").lower() or "appointment"
    head = kind_phrase(kind) if article == "a" else f"{article} {kind}"
    local = _local(start, now)
    today = now.date() if now is not None else None
    day = spoken_day(local.date(), today)
    on = "" if day in ("today", "tomorrow") else "on "
    text = f"{head} {on}{day} at {spoken_time(local)}"
    provider = clean(provider)
    return f"{text} with {provider}" if provider else text


def spoken_list(items: Sequence[str], conjunction: str = "or") -> str:
    """["a"] -> "a"; ["a", "b"] -> "a or b"; ["a", "b", "c"] -> "a, b, or c"."""
    items = [item for item in items if item]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return ", ".join(items[:-1]) + f", {conjunction} {items[-1]}"


def speakable_address(address: str) -> str:
    """Reads a ZIP code digit by digit ("2 0 0 3 6") instead of as a large number."""

    def spell(match: re.Match[str]) -> str:
        return " ".join(match.group(1)) + (" " + " ".join(match.group(2)[1:]) if match.group(2) else "")

    return re.sub(r"\b(\d{5})(-\d{4})?\b(?=\s*$)", spell, clean(address))


def first_name_for_speech(name: str | None) -> str | None:
    """The caller's own first name when it is safe to say: letters, hyphens and apostrophes only."""
    if not name:
        return None
    word = name.strip().split()[0] if name.strip() else ""
    if not word or len(word) > 30 or not re.fullmatch(r"[^\W\d_]+(?:['-][^\W\d_]+)*", word):
        return None
    return word[:1].upper() + word[1:]


# Markup and ASCII control characters (tab and newline kept) as spaces: all `clean` changes in ASCII text.
_ASCII_BLANKS = str.maketrans(
    {c: " " for c in [*"*#_`<>{}[]|\\~^", *map(chr, range(32)), chr(127)] if c not in "\t\n"}
)
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """Plain spoken text: no markup characters, emojis or control characters; single spaces."""
    text = str(text or "")
    if text.isascii():  # the usual case, without a category lookup per character (same result: tests say so)
        return _SPACES.sub(" ", text.translate(_ASCII_BLANKS)).strip()
    out = []
    for ch in text:
        if ch in "*#_`<>{}[]|\\~^":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("So", "Cs", "Co", "Cn") or (category.startswith("C") and ch not in "\t\n"):
            out.append(" ")
            continue
        out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()


def sentence(text: str) -> str:
    """Ends a spoken sentence with punctuation."""
    text = clean(text)
    if text and text[-1] not in ".?!":
        text += "."
    return text


def _local(start: dt.datetime, now: dt.datetime | None) -> dt.datetime:
    if now is not None and now.tzinfo is not None and start.tzinfo is not None:
        return start.astimezone(now.tzinfo)
    return start
