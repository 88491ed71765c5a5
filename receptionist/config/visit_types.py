"""Visit types from the practice file: what can be booked, for how long, with whom, and for whom.

```toml
[[visit_types]]
id = "cleaning"                  # the name the schedule, the dashboard and the PMS use
name = "cleaning"                # as the receptionist says it: "a cleaning"
minutes = 60                     # a multiple of the schedule's 30-minute units
providers = ["Hygienist Patel", "Hygienist Moore"]
patients = "returning"           # "new", "returning" or "any"
min_age = 14                     # optional age bounds, in whole years
serves = ["cleaning", "checkup"] # what callers ask for that this type answers (kinds the understanding finds)
recall_months = 6                # optional: a recall is due this long after the last visit of this type
recall_lines = ["preventive"]    # optional: the service lines that are a visit of this type (else [recall] lines)
urgent = false                   # true: the same-day emergency visit
```

The kinds a caller can ask for are a closed vocabulary (`KINDS`), the same in every language: the
understanding maps words to them, the practice maps them to its own types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SLOT_MINUTES = 30  # the schedule's unit; every visit type lasts a whole number of them
KINDS = (
    "cleaning",
    "checkup",
    "exam",
    "filling",
    "crown",
    "root_canal",
    "extraction",
    "implant",
    "whitening",
    "orthodontics",
    "consultation",
    "child",
    "new_patient",
    "emergency",
)
PATIENTS = ("new", "returning", "any")


@dataclass(frozen=True)
class VisitType:
    id: str
    name: str
    minutes: int
    providers: tuple[str, ...]
    patients: str = "any"
    min_age: int | None = None
    max_age: int | None = None
    serves: tuple[str, ...] = ()
    recall_months: int | None = None
    recall_lines: tuple[str, ...] = ()  # service lines that are a visit of this type; () means [recall] lines
    urgent: bool = False

    def fits(self, *, new_patient: bool, age: int | None) -> bool:
        """Whether this type is for a patient like this one (an unknown age fits any bounds)."""
        if self.patients == "new" and not new_patient or self.patients == "returning" and new_patient:
            return False
        if age is not None and (
            self.min_age is not None and age < self.min_age or self.max_age is not None and age > self.max_age
        ):
            return False
        return True

    @property
    def units(self) -> int:
        return self.minutes // SLOT_MINUTES


# What a practice file without [[visit_types]] gets: one type per provider role, as the product booked before.
def default_visit_types(providers: Sequence[str]) -> tuple[VisitType, ...]:
    hygienists = tuple(p for p in providers if "hygien" in p.lower())
    dentists = tuple(p for p in providers if p not in hygienists) or tuple(providers)
    types = [
        VisitType(
            "exam",
            "exam",
            60,
            dentists,
            serves=tuple(k for k in KINDS if k not in ("cleaning",)),
        ),
    ]
    if hygienists:
        types.insert(0, VisitType("cleaning", "cleaning", 60, hygienists, serves=("cleaning", "checkup")))
    return tuple(types)


def parse_visit_types(
    raw: list[Any], providers: Sequence[str], fail: Callable[[str, str], Exception]
) -> tuple[VisitType, ...]:
    if not raw:
        return default_visit_types(providers)
    seen: set[str] = set()
    out = []
    for i, item in enumerate(raw):
        where = f"visit_types[{i}]"
        if not isinstance(item, dict):
            raise fail(where, "expected a table")
        unknown = set(item) - {
            "id", "name", "minutes", "providers", "patients", "min_age", "max_age", "serves", "recall_months",
            "recall_lines", "urgent",
        }  # fmt: skip
        if unknown:
            raise fail(f"{where}.{sorted(unknown)[0]}", "unknown key")
        vid = str(item.get("id", "")).strip()
        if not vid or vid in seen:
            raise fail(f"{where}.id", "a unique id is needed")
        seen.add(vid)
        try:
            minutes = int(item.get("minutes", 60))
        except (TypeError, ValueError):
            raise fail(f"{where}.minutes", "a number of minutes") from None
        if minutes <= 0 or minutes % SLOT_MINUTES:
            raise fail(f"{where}.minutes", f"a positive multiple of {SLOT_MINUTES}")
        names = tuple(str(p) for p in item.get("providers", []))
        missing = [p for p in names if p not in providers]
        if not names or missing:
            raise fail(f"{where}.providers", f"providers of a location are needed (unknown: {missing})")
        patients = str(item.get("patients", "any"))
        if patients not in PATIENTS:
            raise fail(f"{where}.patients", f"one of {', '.join(PATIENTS)}")
        serves = tuple(str(k) for k in item.get("serves", [vid]))
        wrong = [k for k in serves if k not in KINDS and k != vid]
        if wrong:
            raise fail(f"{where}.serves", f"unknown kinds {wrong}; kinds are {', '.join(KINDS)}")
        out.append(
            VisitType(
                id=vid,
                name=str(item.get("name", vid)),
                minutes=minutes,
                providers=names,
                patients=patients,
                min_age=_age(item.get("min_age"), f"{where}.min_age", fail),
                max_age=_age(item.get("max_age"), f"{where}.max_age", fail),
                serves=serves,
                recall_months=_age(item.get("recall_months"), f"{where}.recall_months", fail),
                recall_lines=tuple(str(x) for x in item.get("recall_lines", [])),
                urgent=bool(item.get("urgent", False)),
            )
        )
    return tuple(out)


def _age(value: object, where: str, fail: Callable[[str, str], Exception]) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise fail(where, "a whole number") from None
    if number < 0:
        raise fail(where, "not negative")
    return number
