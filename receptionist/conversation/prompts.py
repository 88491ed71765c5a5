"""The system prompts: files in the top-level `prompts/` package, loaded once, with their placeholders filled.

`render(name, **facts)` raises `MissingFact` when a placeholder has no value, so a prompt never reaches a model
with a `{hole}` in it. `_rules.md` is shared: it is rendered first and handed to every prompt as `{rules}`.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

NAMES = ("inbound_routine", "new_patient", "after_hours", "outbound_high", "outbound_mid", "outbound_low")
RULES = "_rules"


class MissingFact(KeyError):
    """A prompt names a placeholder the caller of `render` gave no value for."""


@cache
def _text(name: str) -> str:
    return resources.files("prompts").joinpath(f"{name}.md").read_text(encoding="utf-8").strip()


def placeholders(name: str) -> set[str]:
    """The `{names}` a prompt file uses."""
    return {field for _, field, _, _ in string.Formatter().parse(_text(name)) if field}


def _fill(name: str, facts: dict[str, str]) -> str:
    missing = placeholders(name) - set(facts)
    if missing:
        raise MissingFact(f"prompt {name!r} needs {', '.join(sorted(missing))}")
    return _text(name).format(**facts)


def render(name: str, **facts: str) -> str:
    """The prompt `name` with every placeholder filled from `facts` (and `{rules}` from `_rules.md`)."""
    if name not in NAMES:
        raise KeyError(f"no prompt named {name!r}")
    values = {key: str(value) for key, value in facts.items()}
    values["rules"] = _fill(RULES, values)
    return _fill(name, values)


def name_for(direction: str, reason: str, *, known: bool, is_open: bool) -> str:
    """Which prompt fits the call: outbound by tier ("reactivation_high"), new patient, after hours, routine."""
    if direction == "outbound":
        tier = reason.rpartition("_")[2]
        return f"outbound_{tier}" if tier in ("high", "mid", "low") else "outbound_mid"
    if not known:
        return "new_patient"
    return "inbound_routine" if is_open else "after_hours"
