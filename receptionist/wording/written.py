"""Times written for people to read on a page or in a terminal: in a place's own zone and in words,
"Tue Dec 8, 2:00 PM EST", never UTC or raw ISO 8601. Pure: no clock reads, no I/O."""

from __future__ import annotations

import datetime as dt

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def written_time(value: dt.datetime, zone: dt.tzinfo, *, year: bool = False) -> str:
    """ "Tue Dec 8, 2:00 PM EST" (with ", 2026" after the day when `year`); a naive value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone)
    hour = local.hour % 12 or 12
    when = f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day}"
    if year:
        when += f", {local.year}"
    return f"{when}, {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname() or ''}".rstrip()


def written_day(value: dt.date) -> str:
    """ "Tue Dec 8, 2026"."""
    return f"{_DAYS[value.weekday()]} {_MONTHS[value.month - 1]} {value.day}, {value.year}"


def written_when(start: dt.datetime, now: dt.datetime) -> str:
    """A visit's time in a text message, in `now`'s zone: "today at 9:00 AM", "tomorrow at 2:30 PM",
    "Tue Dec 15 at 9:00 AM" (short, and read, not heard)."""
    local = start.astimezone(now.tzinfo) if now.tzinfo is not None else start
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    days = (local.date() - now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day} at {clock}"


def numbered(items: list[str], first: int = 1) -> str:
    """Choices a texter answers with a number: "1) Tue Dec 15 at 9:00 AM, 2) ..."."""
    return ", ".join(f"{n}) {item}" for n, item in enumerate(items, first))
