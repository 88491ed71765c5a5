"""Reactivation sequences and offers, from the practice file: the steps each tier's patients go through.

```toml
[outreach.offers]                 # what a step may offer, as it is written to the patient
whitening = "a free take-home whitening kit with your next cleaning"

[[outreach.sequences]]            # tried in order; the first one listed for a tier is its default
name = "high-touch"
tier = "high"
steps = [                         # days: after the previous step went out
  { channel = "staff_call" },
  { channel = "ai_call", days = 3 },
  { channel = "sms", days = 7 },
  { channel = "email", days = 7, offer = "whitening" },
]
```

A step that carries an offer is marketing (COMPLIANCE.md): it needs the patient's prior express written
consent on every channel, the gates enforce that. A step without one keeps its campaign's purpose tag.
`[outreach] sequences = false` turns sequences off: every patient gets the plan's one contact, as before.
Without `[[outreach.sequences]]` the seed's default applies (`DEFAULT_SEQUENCES`): high tier, a staff call,
an AI call 3 days later, a text 7 days later, then a personal email; mid tier, an email, a text, an AI call;
low tier, the general campaign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STEP_CHANNELS = ("staff_call", "ai_call", "sms", "email", "general")
SEQUENCE_TIERS = ("high", "mid", "low")


@dataclass(frozen=True)
class Step:
    channel: str
    days: int = 0  # after the previous step went out
    offer: str = ""  # an offer id of `[outreach.offers]`; empty: none


@dataclass(frozen=True)
class Sequence:
    name: str
    tier: str
    steps: tuple[Step, ...]

    def entry(self, channel: str) -> int | None:
        """The first step through `channel` (where a patient the plan gives that channel starts), or None."""
        return next((i for i, s in enumerate(self.steps) if s.channel == channel), None)


DEFAULT_SEQUENCES = (
    Sequence(
        "high-touch",
        "high",
        (Step("staff_call"), Step("ai_call", 3), Step("sms", 7), Step("email", 7)),
    ),
    Sequence("mid-digital", "mid", (Step("email"), Step("sms", 4), Step("ai_call", 5))),
    Sequence("low-general", "low", (Step("general"),)),
)


@dataclass(frozen=True)
class Sequences:
    enabled: bool = True
    sequences: tuple[Sequence, ...] = DEFAULT_SEQUENCES
    offers: dict[str, str] = field(default_factory=dict)

    def for_tier(self, tier: str) -> tuple[Sequence, ...]:
        return tuple(s for s in self.sequences if s.tier == tier) if self.enabled else ()

    def named(self, name: str | None) -> Sequence | None:
        return next((s for s in self.sequences if s.name == name), None) if name else None


def parse_sequences(outreach: dict[str, Any], fail: Callable[[str, str], Exception]) -> Sequences:
    """`[outreach] sequences`, `[[outreach.sequences]]` and `[outreach.offers]`, checked field by field."""
    offers_raw = outreach.get("offers", {})
    if not isinstance(offers_raw, dict) or not all(isinstance(v, str) and v for v in offers_raw.values()):
        raise fail("outreach.offers", 'a table of offer = "what it is, as written to the patient" expected')
    offers = {str(k): str(v) for k, v in offers_raw.items()}
    raw = outreach.get("sequences", None)
    if raw is None or raw is True:
        return Sequences(True, DEFAULT_SEQUENCES, offers)
    if raw is False:
        return Sequences(False, DEFAULT_SEQUENCES, offers)
    if not isinstance(raw, list):
        raise fail("outreach.sequences", "true, false, or a list of [[outreach.sequences]] tables expected")
    out: list[Sequence] = []
    for i, seq in enumerate(raw):
        where = f"outreach.sequences[{i}]"
        if not isinstance(seq, dict):
            raise fail(where, "a table expected")
        name, tier = str(seq.get("name", "")), str(seq.get("tier", ""))
        if not name or any(s.name == name for s in out):
            raise fail(f"{where}.name", f"a name of its own expected, got {name!r}")
        if tier not in SEQUENCE_TIERS:
            raise fail(f"{where}.tier", f"one of {', '.join(SEQUENCE_TIERS)} expected, got {tier!r}")
        steps_raw = seq.get("steps", [])
        if not isinstance(steps_raw, list) or not steps_raw:
            raise fail(f"{where}.steps", "a list of { channel, days, offer } steps expected")
        steps = []
        for j, st in enumerate(steps_raw):
            at = f"{where}.steps[{j}]"
            if not isinstance(st, dict):
                raise fail(at, "a table { channel, days, offer } expected")
            channel = str(st.get("channel", ""))
            if channel not in STEP_CHANNELS:
                raise fail(f"{at}.channel", f"one of {', '.join(STEP_CHANNELS)} expected, got {channel!r}")
            days = st.get("days", 0)
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                raise fail(f"{at}.days", f"a whole number of days, 0 or more, expected, got {days!r}")
            offer = str(st.get("offer", ""))
            if offer and offer not in offers:
                raise fail(f"{at}.offer", f"{offer!r} is not in [outreach.offers]")
            steps.append(Step(channel, days, offer))
        out.append(Sequence(name, tier, tuple(steps)))
    return Sequences(True, tuple(out), offers)
