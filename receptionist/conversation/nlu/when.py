"""Days and times of day: the rules a receptionist uses, and dateparser for calendar dates.

Rules (all against the `now` handed in, aware, in the practice's time zone):
- A weekday alone or with "this"/"on"/"coming" is the first such day on or after today; "next Tuesday" is
  the Tuesday of next week (weeks start on Monday), so said on a Monday it is eight days away.
- "the 5th" is the next 5th on or after today; "December 8" the next December 8 on or after today.
- An hour without am/pm is read as a practice hour: 7..11 morning, 12 noon, 1..6 afternoon (13..18), unless
  the turn says morning/afternoon/evening; 13..23 are read as they are.
- dateparser reads calendar dates ("December 8th", "8th of December", "12/8/1990", "March 3rd 1982", "in
  2 weeks"): called only on a span that already looks like one, with English (or the turn's language)
  fixed and no search. Measured: about 1 ms per call after its first (about 200 ms, its language data:
  `warm()` pays it); a date of birth prefers the past, an appointment the future; a two-digit year that
  lands in the future for a date of birth is taken a century back.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings


def minute_of_day(hour: int, minute: int, mark: str | None, afternoon: bool = False) -> int | None:
    """Minutes after midnight for a spoken hour; `mark` is "am" | "pm" | None; None when not a time."""
    if not 0 <= minute < 60 or not 0 <= hour <= 23:
        return None
    if hour > 12:
        return None if mark == "am" else hour * 60 + minute
    if mark == "am":
        return (hour % 12) * 60 + minute
    if mark == "pm" or (afternoon and hour < 12):
        return (hour % 12 + 12) * 60 + minute
    if hour == 0:
        return minute
    if 1 <= hour <= 6:
        return (hour + 12) * 60 + minute
    return hour * 60 + minute


def on_or_after(today: dt.date, weekday: int) -> dt.date:
    """The first `weekday` (0 = Monday) on or after `today`."""
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def in_next_week(today: dt.date, weekday: int) -> dt.date:
    """`weekday` in the calendar week after this one."""
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    return monday + dt.timedelta(days=weekday)


def day_of_month(today: dt.date, day: int) -> dt.date | None:
    """The next date on or after `today` whose day of the month is `day`."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return None


def week_span(today: dt.date, weeks_ahead: int, part: str = "") -> tuple[dt.date, dt.date]:
    """The days of the week `weeks_ahead` from this one, from today at the earliest; `part` "early" keeps
    Monday to Wednesday, "late" Thursday to Sunday."""
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7 * weeks_ahead)
    start, end = monday, monday + dt.timedelta(days=6)
    if part == "early":
        end = monday + dt.timedelta(days=2)
    elif part == "late":
        start = monday + dt.timedelta(days=3)
    return max(start, today), max(end, today)


def month_span(today: dt.date, months_ahead: int, part: str = "") -> tuple[dt.date, dt.date]:
    """The days of the month `months_ahead` from this one, from today at the earliest."""
    year, month = today.year, today.month + months_ahead
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    if part == "early":
        last = first + dt.timedelta(days=9)
    elif part == "late":
        first = last - dt.timedelta(days=9)
    return max(first, today), max(last, today)


@functools.lru_cache(maxsize=1)
def _dateparser() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dateparser's own deprecation notices are not ours to act on
        import dateparser

    return dateparser


def parse_date(
    span: str, now: dt.datetime, *, past: bool, has_year: bool, language: str = "en"
) -> dt.date | None:
    """A calendar date in `span` read by dateparser, resolved against `now` (see the module docstring)."""
    return _parse_cached(span, now.replace(tzinfo=None, microsecond=0), past, has_year, language)


@functools.lru_cache(maxsize=4096)
def _parse_cached(span: str, base: dt.datetime, past: bool, has_year: bool, language: str) -> dt.date | None:
    dateparser = _dateparser()
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "past" if past else "future",
        "DATE_ORDER": "MDY",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = dateparser.parse(span, languages=[language], settings=settings)  # type: ignore[attr-defined]
    if found is None:
        return None
    day: dt.date = found.date()
    today = base.date()
    if past and day > today:
        try:
            day = day.replace(year=day.year - 100)
        except ValueError:
            return None
    if not past and day < today and not has_year:
        try:
            day = day.replace(year=day.year + 1)
        except ValueError:
            return None
    return day


def warm(language: str = "en") -> None:
    """Load dateparser's data now (its first call costs about 200 ms)."""
    parse_date("december 8", dt.datetime(2026, 1, 1), past=False, has_year=False, language=language)
    _parse_cached.cache_clear()
