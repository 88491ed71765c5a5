"""Pure formatting for the dashboard's pages and CSV downloads: numbers, times and labels, no Flask, no I/O."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from receptionist import csvsafe
from receptionist.clock import utc
from receptionist.wording.spoken import spoken_date, spoken_time
from receptionist.wording.written import written_day, written_time

TIER_LABELS = {"high": "High", "mid": "Mid", "low": "Low", "none": "Unknown"}
CHANNEL_LABELS = {
    "staff_call": "Staff call",
    "ai_call": "AI call",
    "sms": "Text",
    "email": "Email",
    "general": "General",
    "inbound": "Inbound",
}
OUTCOME_LABELS = {
    "reached": "Reached",
    "booked": "Booked",
    "call_back": "Call back",
    "not_interested": "Not interested",
    "wrong_number": "Wrong number",
}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2}


def money(x: float | None) -> str:
    if x is None:
        return "-"
    sign = "-" if x < 0 else ""
    x = abs(x)
    return f"{sign}${x:,.0f}" if x >= 100 else f"{sign}${x:,.2f}"


def pct(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def pct_range(r: Sequence[float] | None) -> str:
    return "-" if not r else f"{r[0] * 100:.0f}-{r[1] * 100:.0f}%"


def ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}x"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}" if m < 60 else f"{m // 60}:{m % 60:02d}:{s:02d}"


def ago(when: dt.datetime | None, now: dt.datetime) -> str:
    """'3 days ago', 'just now'; '-' for never."""
    if when is None:
        return "never"
    when = utc(when)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "in the future"
    for unit, size in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        n = int(seconds // size)
        if n >= 1:
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def local_time(when: dt.datetime | None, zone: dt.tzinfo) -> str:
    """A moment in the location's zone, in words: "Tue Dec 8, 2:00 PM EST"; "-" for none."""
    if when is None:
        return "-"
    return written_time(utc(when), zone)


def day(value: dt.date | str | None) -> str:
    """A calendar day in words: "Tue Dec 8, 2026" (ISO text is read first); "-" for none."""
    if not value:
        return "-"
    if isinstance(value, str):
        try:
            return written_day(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return written_day(value)


def when(value: dt.datetime | None, now: dt.datetime, zone: dt.tzinfo) -> str:
    """A time for staff, in words in the location's zone: "today at 9:05 AM", "yesterday at 4 PM",
    "Friday December 11th at 10:30 AM" (the year too when it is far from now); "-" for none."""
    if value is None:
        return "-"
    local = utc(value).astimezone(zone)
    today = utc(now).astimezone(zone).date()
    if local.date() == today:
        day = "today"
    elif local.date() == today - dt.timedelta(days=1):
        day = "yesterday"
    else:
        day = spoken_date(local.date(), today)
    return f"{day} at {spoken_time(local)}"


def requests(n: int) -> str:
    """ "1 request", "3 requests"."""
    return f"{n} request" if n == 1 else f"{n} requests"


def phone(e164: str | None) -> str:
    """+12025550143 -> (202) 555-0143; other numbers as stored."""
    if not e164:
        return "-"
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return e164


def tier(t: str | None) -> str:
    return TIER_LABELS.get(t or "none", t or "-")


def channel(c: str | None) -> str:
    return CHANNEL_LABELS.get(c or "", (c or "-").replace("_", " "))


def outcome(o: str | None) -> str:
    return OUTCOME_LABELS.get(o or "", (o or "-").replace("_", " "))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV download, every cell spreadsheet-safe (`csvsafe`)."""
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def yearly(visits: Iterable[tuple[dt.date, int]]) -> list[tuple[str, float, int]]:
    """(day, cents) visit lines -> (year, dollars, visit days) per year, every year from the first to the last."""
    by: dict[int, list[Any]] = {}
    days: dict[int, set[Any]] = {}
    for day, cents in visits:
        acc = by.setdefault(day.year, [0])
        acc[0] += cents
        days.setdefault(day.year, set()).add(day)
    if not by:
        return []
    return [(str(y), by.get(y, [0])[0] / 100.0, len(days.get(y, ()))) for y in range(min(by), max(by) + 1)]
