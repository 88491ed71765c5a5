"""The one clock, and instants as the store keeps them.

Every product read of "now" goes through a `Clock` handed in at construction (`Services.now`), never through
`datetime.now()`, `date.today()` or `time.time()`: tests, the simulator's `--at` and `RECEPTIONIST_CLOCK` run
the whole product at another instant, and a check in the suite (`tests/test_lint.py`) fails on any other
wall-clock read. Monotonic timers that measure durations (`time.monotonic`, `time.perf_counter`) are fine.

A day that means "the practice's day" (today's calls, the score's as-of date, "last visit 3 months ago") is
taken in a time zone (`local_day`), never from the server's own local date.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import overload
from zoneinfo import ZoneInfo

Clock = Callable[[], dt.datetime]
"""Returns the current instant, aware (UTC)."""


def system_clock() -> dt.datetime:
    """The wall clock: the only place the product reads it."""
    return dt.datetime.now(dt.UTC)


def clock_from(start: dt.datetime | None) -> Clock:
    """The system clock, or (`start` given) a clock that reads `start` now and then runs at real speed.

    Every process started with the same `start` (`RECEPTIONIST_CLOCK`) shares the same shifted time, give or
    take the seconds between their starts."""
    if start is None:
        return system_clock
    began = time.monotonic()
    at = utc(start)

    def shifted() -> dt.datetime:
        return at + dt.timedelta(seconds=time.monotonic() - began)

    return shifted


def fixed_clock(at: dt.datetime) -> Clock:
    """A clock that stands still (tests)."""
    instant = utc(at)
    return lambda: instant


def local_day(now: dt.datetime, zone: str | ZoneInfo) -> dt.date:
    """The calendar day it is at `now` in `zone` (a location's or the practice's time zone)."""
    return now.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).date()


@overload
def utc(value: dt.datetime) -> dt.datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: dt.datetime | None) -> dt.datetime | None:
    """The same instant in UTC; a naive value is taken as UTC (how the store wrote it); None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
