"""Who a visit is for: the caller's family members on file, found by name, by description ("my husband",
"my son, he's 12") or by age; friends and neighbours call for themselves."""

from __future__ import annotations

import functools
from typing import Any

from rapidfuzz import fuzz, process

from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.types import CallerView, Member

CHILDREN = frozenset({"son", "daughter", "child", "kid", "boy", "girl", "baby", "stepson", "stepdaughter"})
# who a caller may book for: their family (friends and neighbours call for themselves)
FAMILY = CHILDREN | frozenset({"husband", "wife", "spouse", "partner", "mother", "father", "mom", "dad", "parent",
                               "grandson", "granddaughter", "grandchild", "grandmother", "grandfather", "sister",
                               "brother", "sibling", "grandparent", "nephew", "niece", "aunt", "uncle", "family"})  # fmt: skip


SONS = frozenset(
    {"son", "boy", "stepson", "grandson", "nephew", "brother", "husband", "father", "dad", "uncle"}
)
DAUGHTERS = frozenset({"daughter", "girl", "stepdaughter", "granddaughter", "niece", "sister", "wife", "mother",
                       "mom", "aunt"})  # fmt: skip
SPOUSES = frozenset({"husband", "wife", "spouse", "partner"})
PARENTS = frozenset({"mother", "father", "mom", "dad", "parent"})


def match_member(caller: CallerView, name: str | None) -> Member | None:
    if not name:
        return None
    choices = {m.patient_id: m.first_name for m in caller.family if m.first_name}
    if not choices:
        return None
    found = process.extractOne(name.lower(), {k: v.lower() for k, v in choices.items()}, scorer=fuzz.WRatio)
    if found is None or found[1] < 86:
        return None
    return next(m for m in caller.family if m.patient_id == found[2])


def real_name(person: Any) -> Any:
    """A person whose "name" is an ordinary word ("my daughter drives me") has no name."""
    if person.name and person.name.lower() in lexicon("en").known_words:
        return type(person)(person.relation, None, person.age)
    return person


def members_like(caller: CallerView, person: Any) -> list[Member]:
    """Family members who fit a description without a name: a spouse is the other adult, a child a minor, a
    parent someone a generation older; a stated age decides on its own."""
    family = list(caller.family)
    if person.age is not None:
        return [m for m in family if m.age == person.age]
    if person.relation in CHILDREN:
        return _by_sex([m for m in family if m.age is not None and m.age < 18], person.relation)
    if person.relation in SPOUSES:
        return [
            m
            for m in family
            if m.age is None or m.age >= 18 and (caller.age is None or abs(m.age - caller.age) < 25)
        ]
    if person.relation in PARENTS:
        return [
            m for m in family if m.age is not None and caller.age is not None and m.age >= caller.age + 15
        ]
    return []


def _by_sex(members: list[Member], relation: str) -> list[Member]:
    """ "My son" among Emma and Noah is Noah: a member whose first name is clearly the other sex's is left
    out (gender-guesser's name lists); a name that could be either, or one it does not know, stays."""
    other = ("female", "mostly_female") if relation in SONS else ("male", "mostly_male")
    if relation not in SONS | DAUGHTERS or len(members) < 2:
        return members
    kept = [m for m in members if not m.first_name or _guess(m.first_name) not in other]
    return kept or members


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    import gender_guesser.detector as detector  # its name lists load once, on the first family question

    return detector.Detector(case_sensitive=False)


def _guess(first_name: str) -> str:
    return str(_detector().get_gender(first_name.split()[0]))


def relation_words(relation: str) -> str:
    return {"child": "child", "kid": "child"}.get(relation, relation)
