"""Recall (hygiene and periodic visits), from the practice file: when a patient is due, and the short sequence
of reminders around the due date.

```toml
[recall]
default_months = 6                  # the hygiene recall when no visit type sets `recall_months` (0: none)
lines = ["preventive", "check-up"]  # service lines (scoring/service_lines.toml) that are a recall visit
max_overdue_days = 60               # due longer ago than this: reactivation's patient, not recall's
run_at = "08:30"                    # the worker starts the day's reminders then (local time); unset: by command

[[recall.steps]]                    # in order; days from the due date, the first lawful channel of `channels`
days = -14
channels = ["sms"]
[[recall.steps]]
days = 0
channels = ["sms"]
[[recall.steps]]
days = 14
channels = ["ai_call", "sms"]
```

A visit type's own `recall_months` (and `recall_lines`, else `lines`) says the interval per type; a due date
the PMS stores wins over both. Every step is a healthcare (exempt) message: texts and AI calls only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scoring import service_lines

RECALL_CHANNELS = ("sms", "ai_call")
MAX_STEPS = 6


@dataclass(frozen=True)
class RecallStep:
    days: int  # from the due date: -14 is two weeks before it
    channels: tuple[str, ...]  # the first lawful one is used


@dataclass(frozen=True)
class RecallRules:
    default_months: int = 6
    lines: tuple[str, ...] = ("preventive", "check-up")
    max_overdue_days: int = 60
    run_at: dt.time | None = (
        None  # the worker starts each day's reminders at this local time; None: by command
    )
    steps: tuple[RecallStep, ...] = (
        RecallStep(-14, ("sms",)),
        RecallStep(0, ("sms",)),
        RecallStep(14, ("ai_call", "sms")),
    )

    @property
    def lead_days(self) -> int:
        """How long before the due date the first reminder goes (0 when none goes before it)."""
        return max(0, -self.steps[0].days)


def parse_recall(raw: Any, fail: Callable[[str, str], Exception]) -> RecallRules:
    if raw is None:
        return RecallRules()
    if not isinstance(raw, dict):
        raise fail("recall", "a table expected")
    unknown = set(raw) - {"default_months", "lines", "max_overdue_days", "steps", "run_at"}
    if unknown:
        raise fail(f"recall.{sorted(unknown)[0]}", "unknown key")
    defaults = RecallRules()
    try:
        months = int(raw.get("default_months", defaults.default_months))
        overdue = int(raw.get("max_overdue_days", defaults.max_overdue_days))
    except (TypeError, ValueError):
        raise fail("recall", "whole numbers expected for default_months and max_overdue_days") from None
    if months < 0 or overdue < 0:
        raise fail("recall", "default_months and max_overdue_days may not be negative")
    lines = tuple(str(x) for x in raw.get("lines", defaults.lines))
    known = service_lines.default_table().lines
    if not lines or any(line not in known for line in lines):
        raise fail("recall.lines", f"service lines of scoring/service_lines.toml, not {list(lines)}")
    steps = defaults.steps
    if "steps" in raw:
        steps = tuple(_step(item, f"recall.steps[{i}]", fail) for i, item in enumerate(raw["steps"]))
        if not 1 <= len(steps) <= MAX_STEPS:
            raise fail("recall.steps", f"between 1 and {MAX_STEPS} steps")
        if any(b.days <= a.days for a, b in zip(steps, steps[1:], strict=False)):
            raise fail(
                "recall.steps", "steps in order of their days, each on a later day than the one before"
            )
    if steps[-1].days > overdue:
        raise fail("recall.max_overdue_days", "at least the days of the last step")
    run_at = None
    if raw.get("run_at") is not None:
        try:
            run_at = dt.time.fromisoformat(str(raw["run_at"]))
        except ValueError:
            raise fail("recall.run_at", 'a local time of day, "HH:MM"') from None
    return RecallRules(
        default_months=months, lines=lines, max_overdue_days=overdue, run_at=run_at, steps=steps
    )


def _step(item: Any, where: str, fail: Callable[[str, str], Exception]) -> RecallStep:
    if not isinstance(item, dict) or set(item) - {"days", "channels"}:
        raise fail(where, "a table of days and channels expected")
    try:
        days = int(item.get("days", 0))
    except (TypeError, ValueError):
        raise fail(f"{where}.days", "a whole number of days") from None
    channels = tuple(str(c) for c in item.get("channels", ["sms"]))
    wrong = [c for c in channels if c not in RECALL_CHANNELS]
    if not channels or wrong:
        raise fail(f"{where}.channels", f"one or more of {', '.join(RECALL_CHANNELS)} (not {wrong})")
    return RecallStep(days, channels)
