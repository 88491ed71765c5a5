"""The frame listens: every turn's entities update what the visit is for, what it is and when it may be,
corrections included ("make it Friday instead" replaces the days, "Thursday's bad" excludes Thursday), and
the frame becomes the schedule's constraints (`Wanted`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from receptionist.conversation.offline.state import Frame
from receptionist.conversation.policy.visits import kind_for
from receptionist.scheduling.schedule import Wanted

# The parts of the day in minutes: [from, to)
PARTS = {
    "early_morning": (0, 9 * 60),
    "morning": (0, 12 * 60),
    "late_morning": (10 * 60, 12 * 60),
    "lunchtime": (11 * 60 + 30, 13 * 60 + 30),
    "midday": (11 * 60, 14 * 60),
    "afternoon": (12 * 60, 17 * 60),
    "late_afternoon": (15 * 60, 24 * 60),
    "evening": (16 * 60, 24 * 60),
    "end_of_day": (15 * 60 + 30, 24 * 60),
}
AROUND = 60  # "around ten": from half an hour... to an hour either side


def update(frame: Frame, e: Any, *, providers: tuple[str, ...]) -> bool:
    """Fold one turn's entities into the frame; True when anything about *when* or *with whom* changed."""
    changed = False
    kind = kind_for(e.visit_kind)
    if kind and kind != frame.kind:
        frame.kind = kind
        frame.visit_type = None
        changed = True
    wanted_days = [d.isoformat() for d in e.days]
    if e.span is not None and not wanted_days:
        span_days = []
        d = e.span.start
        while d <= e.span.end and len(span_days) < 31:
            span_days.append(d.isoformat())
            d += dt.timedelta(days=1)
        wanted_days = span_days
    if e.weekday_after is not None and frame.named_day:
        # "the Monday after" (the day named before, a closed one included): the first such day after it
        ref = dt.date.fromisoformat(frame.named_day)
        day = ref + dt.timedelta(days=(e.weekday_after - ref.weekday() - 1) % 7 + 1)
        wanted_days = [day.isoformat()]
    elif e.weekday_after is not None:
        frame.weekdays = [e.weekday_after]
        changed = True
    if e.days:
        frame.named_day = max(e.days).isoformat()
    if wanted_days or e.weekdays:
        frame.days = wanted_days
        frame.weekdays = list(e.weekdays)
        # a day asked for again is no longer refused
        frame.excluded_days = [d for d in frame.excluded_days if d not in wanted_days]
        frame.excluded_weekdays = [w for w in frame.excluded_weekdays if w not in e.weekdays]
        changed = True
    elif e.correction and (e.window is not None):
        pass  # "make it later": the window below replaces the old one; the days stay
    if e.excluded_days:
        frame.excluded_days = sorted({*frame.excluded_days, *(d.isoformat() for d in e.excluded_days)})
        frame.days = [d for d in frame.days if d not in frame.excluded_days]
        changed = True
    if e.excluded_weekdays:
        frame.excluded_weekdays = sorted({*frame.excluded_weekdays, *e.excluded_weekdays})
        frame.weekdays = [w for w in frame.weekdays if w not in frame.excluded_weekdays]
        changed = True
    if e.window is not None:
        lo, hi = _window(e.window)
        frame.earliest_minute, frame.latest_minute = lo, hi
        frame.near_minute = e.window.at
        changed = True
    for part in e.excluded_parts:
        span = PARTS.get(part)
        if span and list(span) not in frame.excluded_windows:
            frame.excluded_windows.append(list(span))
            changed = True
    if e.provider is not None:
        name = e.provider.name
        if name and name != frame.provider:
            frame.provider = name
            changed = True
        elif not name and e.provider.role and not frame.kind:
            # "with the hygienist": a cleaning; "with a dentist": an exam
            frame.kind = "cleaning" if e.provider.role == "hygienist" else "exam"
            changed = True
    if e.excluded_provider is not None and e.excluded_provider.name:
        if e.excluded_provider.name not in frame.excluded_providers:
            frame.excluded_providers.append(e.excluded_provider.name)
        if frame.provider == e.excluded_provider.name:
            frame.provider = None
        changed = True
    if e.soonest:
        changed = True
    return changed


def _window(w: Any) -> tuple[int | None, int | None]:
    if w.at is not None:
        return max(0, w.at - AROUND), w.at + AROUND + 30
    lo, hi = w.earliest, w.latest
    if w.part and (lo is None and hi is None):
        span = PARTS.get(w.part)
        if span:
            return span
    return lo, hi


def wanted(frame: Frame, *, after: dt.datetime | None = None, relax: bool = False) -> Wanted:
    """The frame as the schedule's constraints; `relax` keeps only what the caller refused."""
    if frame.after is not None:
        floor = dt.datetime.fromisoformat(frame.after)
        after = max(after, floor) if after is not None else floor
    excluded_days = frozenset(dt.date.fromisoformat(d) for d in frame.excluded_days)
    excluded_providers = tuple(frame.excluded_providers)
    windows = tuple((lo, hi) for lo, hi in frame.excluded_windows)
    if relax:
        # nothing fits: the closest to the time asked for ("after work" when the office shuts at 5 is the
        # day's last slot), still keeping what the caller refused
        near = frame.near_minute
        if near is None:
            near = frame.earliest_minute if frame.earliest_minute is not None else frame.latest_minute
        return Wanted(
            after=after,
            near_minute=near,
            excluded_days=excluded_days,
            excluded_weekdays=frozenset(frame.excluded_weekdays),
            excluded_windows=windows,
            excluded_providers=excluded_providers,
        )
    return Wanted(
        after=after,
        days=frozenset(frame.day_dates()),
        weekdays=frozenset(frame.weekdays),
        excluded_days=excluded_days,
        excluded_weekdays=frozenset(frame.excluded_weekdays),
        earliest_minute=frame.earliest_minute,
        latest_minute=frame.latest_minute,
        excluded_windows=windows,
        providers=(frame.provider,) if frame.provider else (),
        excluded_providers=excluded_providers,
        near_minute=frame.near_minute,
    )


def has_constraints(frame: Frame) -> bool:
    return bool(
        frame.days
        or frame.weekdays
        or frame.earliest_minute is not None
        or frame.latest_minute is not None
        or frame.provider
    )
