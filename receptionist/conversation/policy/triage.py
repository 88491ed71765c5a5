"""Dental triage: a medical emergency is told to dial 911; an urgent dental problem gets the earliest same-day
emergency visit (or a warm transfer in opening hours) and the practice's first-aid line, and after hours the
on-call instructions; everything else is routine.

Medical, whatever the teeth: trouble breathing or swallowing (swelling that affects them included), chest
pain, fainting, an allergic reaction, heavy bleeding that will not stop, a head injury. Urgent dental: a
knocked-out or broken tooth, a lost crown or filling, bleeding after an extraction, swelling without
breathing trouble, a bad toothache. A symptom the caller denies ("I'm not bleeding") counts for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Level = Literal["emergency_911", "urgent_dental", "routine"]

MEDICAL = frozenset(
    {
        "breathing",
        "swallowing",
        "chest_pain",
        "fainting",
        "allergic_reaction",
        "head_injury",
        "heavy_bleeding",
    }
)
# most specific first: the problem the first-aid line is about
DENTAL = (
    "knocked_out",
    "broken_tooth",
    "lost_crown",
    "lost_filling",
    "bleeding",
    "swelling",
    "infection",
    "dry_socket",
    "loose_tooth",
    "pain",
    "jaw",
)
FIRST_AID = {
    "knocked_out": "knocked_out_tooth",
    "broken_tooth": "broken_tooth",
    "lost_crown": "lost_crown",
    "lost_filling": "lost_filling",
    "bleeding": "bleeding_after_extraction",
    "swelling": "swelling",
    "infection": "swelling",
    "dry_socket": "toothache",
    "pain": "toothache",
}


@dataclass(frozen=True)
class Triage:
    level: Level
    problem: str | None = None  # the dental problem, most specific first
    first_aid: str | None = None  # the practice's own line for it

    @property
    def urgent(self) -> bool:
        return self.level != "routine"


def triage(
    symptoms: Iterable[tuple[str, bool]],
    *,
    medical_intent: bool,
    urgent_intent: bool,
    first_aid: Mapping[str, str],
) -> Triage:
    """`symptoms`: (kind, negated) pairs the caller named; the intents: what the understanding heard. A
    medical symptom the caller denied outweighs the intent's guess; one they named never does."""
    pairs = list(symptoms)
    denied = {kind for kind, negated in pairs if negated}
    named = [kind for kind, negated in pairs if not negated and kind not in denied]  # "no chest pain" wins
    denied_medical = bool(denied & MEDICAL)
    if any(kind in MEDICAL for kind in named) or medical_intent and not denied_medical:
        return Triage("emergency_911")
    problem = next((p for p in DENTAL if p in named), None)
    if problem is None and not urgent_intent:
        return Triage("routine")
    problem = problem or "pain"
    return Triage("urgent_dental", problem, first_aid.get(FIRST_AID.get(problem, ""), None))
