"""Offered times and appointments as the caller hears and names them: which one a reference picks ("the
first", "the Friday one", "the 10 am"), and the words for when."""

from __future__ import annotations

import datetime as dt
from typing import Any

from receptionist.conversation.offline.state import Offer
from receptionist.conversation.types import AppointmentView
from receptionist.wording import spoken
from receptionist.wording.written import written_when


def when_words(
    start: dt.datetime, provider: str, now: dt.datetime, *, written: bool = False
) -> dict[str, str]:
    """{when}: "Tuesday December 15th at 9 AM" or "tomorrow at 9 AM" ("Tue Dec 15 at 9:00 AM" `written`, for
    a text); {on_when}: the same after "on" where English wants it; {provider}: the provider's name as said."""
    when = written_when(start, now) if written else spoken.spoken_when(start, now)
    on_when = when if when.startswith(("today", "tomorrow")) else f"on {when}"
    return {"when": when, "on_when": on_when, "provider": spoken.clean(provider)}


def pick(ref: Any, offers: list[Offer]) -> int | None:
    """Which offer a reference names: by position, by weekday, by time, the earliest or the latest."""
    if not offers:
        return None
    if ref.index is not None:
        i = ref.index if ref.index >= 0 else len(offers) + ref.index
        return i if 0 <= i < len(offers) else None
    if ref.earliest:
        return min(range(len(offers)), key=lambda i: offers[i].when)
    if ref.latest:
        return max(range(len(offers)), key=lambda i: offers[i].when)
    matches = [
        i
        for i, o in enumerate(offers)
        if (ref.weekday is None or o.when.weekday() == ref.weekday)
        and (ref.minute is None or o.when.hour * 60 + o.when.minute == ref.minute
             or (ref.minute < 12 * 60 and o.when.hour * 60 + o.when.minute == ref.minute + 12 * 60))
    ]  # fmt: skip
    return matches[0] if len(matches) >= 1 and (ref.weekday is not None or ref.minute is not None) else None


def views(appointments: list[AppointmentView]) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "start": a.start.isoformat(),
            "provider": a.provider,
            "kind": a.kind,
            "patient_id": a.patient_id,
        }
        for a in appointments
    ]
