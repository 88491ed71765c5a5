"""What the front desk knows and says, from the practice file: answers to common questions, first aid for
urgent dental problems, the after-hours on-call line, and how late is too late.

```toml
[faq]              # each answer as the receptionist should say it; a topic left out becomes a message
insurance = "We're in network with Delta Dental, MetLife and Cigna."
payment = "..."
parking = "..."
new_patients = "..."
services = "..."
prices = "..."
children = "..."

[triage]
on_call = "+12025550199"          # the after-hours emergency line, read out to urgent callers
[triage.first_aid]                # the practice's own first-aid lines, by problem
knocked_out_tooth = "Pick the tooth up by the crown, not the root, keep it in a cup of milk, and come in within the hour."

[appointments]
late_grace_minutes = 15           # later than this, staff may need to move the visit
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from receptionist.phones import InvalidPhone, to_e164

FAQ_TOPICS = ("insurance", "payment", "parking", "new_patients", "services", "prices", "children")
PROBLEMS = (
    "toothache",
    "swelling",
    "knocked_out_tooth",
    "broken_tooth",
    "lost_crown",
    "lost_filling",
    "bleeding_after_extraction",
)


@dataclass(frozen=True)
class FrontDesk:
    faq: Mapping[str, str] = field(default_factory=dict)
    first_aid: Mapping[str, str] = field(default_factory=dict)
    on_call: str | None = None  # E.164
    late_grace_minutes: int = 15

    def answer(self, topic: str) -> str | None:
        return self.faq.get(topic)


def parse_front_desk(data: dict[str, Any], fail: Callable[[str, str], Exception]) -> FrontDesk:
    faq = data.get("faq", {})
    if not isinstance(faq, dict):
        raise fail("faq", "expected a table of answers")
    for topic in faq:
        if topic not in FAQ_TOPICS:
            raise fail(f"faq.{topic}", f"unknown topic; topics are {', '.join(FAQ_TOPICS)}")
    triage = data.get("triage", {})
    first_aid = triage.get("first_aid", {})
    for problem in first_aid:
        if problem not in PROBLEMS:
            raise fail(f"triage.first_aid.{problem}", f"unknown problem; problems are {', '.join(PROBLEMS)}")
    on_call = triage.get("on_call")
    if on_call is not None:
        try:
            on_call = to_e164(str(on_call))
        except InvalidPhone as exc:
            raise fail("triage.on_call", str(exc)) from None
    appointments = data.get("appointments", {})
    try:
        grace = int(appointments.get("late_grace_minutes", 15))
    except (TypeError, ValueError):
        raise fail("appointments.late_grace_minutes", "a number of minutes") from None
    return FrontDesk(
        faq={str(k): " ".join(str(v).split()) for k, v in faq.items()},
        first_aid={str(k): " ".join(str(v).split()) for k, v in first_aid.items()},
        on_call=on_call,
        late_grace_minutes=grace,
    )
