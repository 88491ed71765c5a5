"""Who takes an inbound call: pure policy over plain data, tested with tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

REPEAT_CALLS = 2  # the AI already had this caller this often today: a person takes the next call


@dataclass(frozen=True)
class RouteDecision:
    kind: Literal["staff", "ai"]
    # why, in words the call record and the dashboard show
    reason: Literal["high_value", "repeat_caller", "after_hours", "no_staff", "routine", "unknown_caller"]


def decide(
    *, tier: str | None, known: bool, is_open: bool, has_staff: bool, recent_ai_calls: int = 0
) -> RouteDecision:
    """High-value patients reach a person during opening hours; so does a caller the AI has had twice today.

    Everyone else, and everyone outside opening hours, gets the AI receptionist. Opt-outs do not matter here:
    a patient who asked not to be contacted is still served normally when they call in.
    """
    if not is_open:
        return RouteDecision("ai", "after_hours")
    if tier == "high" or recent_ai_calls >= REPEAT_CALLS:
        if has_staff:
            return RouteDecision("staff", "high_value" if tier == "high" else "repeat_caller")
        return RouteDecision("ai", "no_staff")
    return RouteDecision("ai", "routine" if known else "unknown_caller")
