"""Lapsed patients, their reactivation score, and a short reason text a receptionist can read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from scoring.features import DAYS_PER_YEAR, Features
from scoring.service_lines import few

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

ZIP_CHANGED_FACTOR = 0.6  # moved within the practice's area
MOVED_AWAY_FACTOR = 0.1  # moved out of the practice's area
BOOKING_ATTEMPT_FLOOR = 0.9  # tried to book online: p_return is at least this
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


@dataclass(frozen=True)
class ReactivationSignals:
    """Per-patient boolean signals from outside the visit history (arrays of length n_patients)."""

    zip_changed: BoolArray  # moved within the area recently
    moved_away: BoolArray  # moved out of the practice's area
    booking_attempt: BoolArray  # tried to book online recently
    opted_out: BoolArray  # asked not to be contacted
    # died (the PMS's status, FHIR's deceased[x], an intake life event); None: nobody. A deceased patient is
    # never lapsed, never scored for reactivation and has no expected future visit.
    deceased: BoolArray | None = field(default=None)

    @classmethod
    def none(cls, n: int) -> ReactivationSignals:
        """No signal set for any of n patients."""
        return cls(*(np.zeros(n, dtype=np.bool_) for _ in range(5)))

    def deceased_flags(self, n: int) -> BoolArray:
        """The deceased flags as an array of length n (all False when none were given)."""
        if self.deceased is None:
            return np.zeros(n, dtype=np.bool_)
        return np.asarray(self.deceased, dtype=np.bool_)


def lapsed(features: Features, lapsed_after_days: int = 365) -> BoolArray:
    """Patients with visits whose last visit is more than ``lapsed_after_days`` days before as_of."""
    return np.asarray(features.has_visits & (features.days_since_last > lapsed_after_days), dtype=np.bool_)


def p_return(p_alive: ArrayLike, signals: ReactivationSignals) -> FloatArray:
    """p_alive * 0.6 if zip_changed * 0.1 if moved_away, then max(that, 0.9) if booking_attempt."""
    base = np.asarray(p_alive, dtype=np.float64)
    base = (
        base
        * np.where(signals.zip_changed, ZIP_CHANGED_FACTOR, 1.0)
        * np.where(signals.moved_away, MOVED_AWAY_FACTOR, 1.0)
    )
    return np.asarray(
        np.where(signals.booking_attempt, np.maximum(base, BOOKING_ATTEMPT_FLOOR), base), dtype=np.float64
    )


def reactivation_score(
    plv: ArrayLike, p_alive: ArrayLike, lapsed: ArrayLike, signals: ReactivationSignals
) -> FloatArray:
    """plv * p_return for lapsed patients who have not opted out and are alive, 0 for everyone else."""
    flags = np.asarray(lapsed, dtype=np.bool_)
    eligible = (
        flags & ~np.asarray(signals.opted_out, dtype=np.bool_) & ~signals.deceased_flags(flags.shape[0])
    )
    value = np.asarray(plv, dtype=np.float64) * p_return(p_alive, signals)
    return np.asarray(np.where(eligible, value, 0.0), dtype=np.float64)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def tenure_text(years_active: float) -> str:
    """'new patient' under one year, else whole years active: '1 year', '6 years'."""
    return "new patient" if years_active < 1.0 else _plural(int(years_active), "year")


def last_visit_text(days: int) -> str:
    """'last visit today/yesterday/N days ago' under 2 weeks, weeks under 8 weeks, months under 18, else years."""
    if days <= 0:
        return "last visit today"
    if days == 1:
        return "last visit yesterday"
    if days < 14:
        return f"last visit {days} days ago"
    if days < 56:
        return f"last visit {_plural(int(days / 7.0 + 0.5), 'week')} ago"
    months = int(days / DAYS_PER_MONTH + 0.5)
    if months < 18:
        return f"last visit {_plural(max(months, 2), 'month')} ago"
    return f"last visit {_plural(max(int(days / DAYS_PER_YEAR + 0.5), 2), 'year')} ago"


def departments_text(departments: int) -> str:
    """', 1 department' / ', N departments'; empty when no department is known."""
    return "" if departments <= 0 else ", " + _plural(departments, "department")


_BASE = 33  # top-department codes -1..31, shifted by one, packed in one integer per patient


def _pack(top: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    packed = np.zeros(top.shape[0], dtype=np.int64)
    for k in range(top.shape[1]):
        packed = packed * _BASE + (top[:, k] + 1)
    return packed


def lines_text(packed: int, width: int, names: Sequence[str]) -> str:
    """', seen for preventive and restorative' from a packed row of top department bits; '' when none."""
    bits = []
    for _ in range(width):
        packed, code = divmod(packed, _BASE)
        bits.append(code - 1)
    shown = [names[b] for b in reversed(bits) if 0 <= b < len(names)]
    return ", seen for " + few(shown) if shown else ""


DECEASED_TEXT = "deceased"
_TAGS = ("lapsed", "moved away", "moved nearby", "tried to book online", "opted out")


def _tags_text(code: int) -> str:
    return "".join(", " + tag for bit, tag in enumerate(_TAGS) if code >> bit & 1)


def _lookup(values: npt.NDArray[np.int64], text: Callable[[int], str]) -> npt.NDArray[np.object_]:
    """Format each distinct value once and spread the strings back (an object array)."""
    distinct, inverse = np.unique(values, return_inverse=True)
    table = np.array([text(int(v)) for v in distinct], dtype=object)
    return np.asarray(table[inverse.reshape(-1)], dtype=object)


def _reasons(
    features: Features,
    plv_values: ArrayLike,
    lapsed_flags: ArrayLike,
    signals: ReactivationSignals,
    idx: npt.NDArray[np.intp],
    department_names: Sequence[str] | None = None,
) -> list[str]:
    plv_arr = np.asarray(plv_values, dtype=np.float64)[idx]
    flags = np.stack(
        [
            np.asarray(lapsed_flags, dtype=np.bool_)[idx],
            signals.moved_away[idx],
            signals.zip_changed[idx],
            signals.booking_attempt[idx],
            signals.opted_out[idx],
        ]
    ).astype(np.int64)
    tags = _lookup(np.sum(flags << np.arange(len(_TAGS))[:, None], axis=0), _tags_text)
    whole_years = np.floor(features.years_active[idx]).astype(np.int64)
    tenure = _lookup(whole_years, lambda y: tenure_text(float(y)))
    money = np.array([f"${v:,.0f}/yr" for v in plv_arr.tolist()], dtype=object)
    if department_names is None:
        depts = _lookup(features.departments[idx], departments_text)
    else:
        top = features.top_departments[idx]
        names = list(department_names)
        depts = _lookup(_pack(top), lambda code: lines_text(code, top.shape[1], names))
    last = _lookup(features.days_since_last[idx], last_visit_text)
    text = tenure + ", " + money + depts + ", " + last + tags
    text = np.where(features.has_visits[idx], text, "no visits yet" + tags)
    # A death is said plainly and alone: no value, no "lapsed", nothing to win back.
    text = np.where(signals.deceased_flags(features.n_patients)[idx], DECEASED_TEXT, text)
    return [str(s) for s in text.tolist()]


def reasons(
    features: Features,
    plv_values: ArrayLike,
    lapsed_flags: ArrayLike,
    signals: ReactivationSignals,
    index: int,
    department_names: Sequence[str] | None = None,
) -> str:
    """Reason text for one patient, e.g. '6 years, $2,140/yr, 3 departments, last visit 7 months ago'.

    With ``department_names`` (the name of each department bit: service lines), the departments part names
    the patient's few most used ones instead: '6 years, $2,140/yr, seen for preventive + restorative +
    implants, last visit 7 months ago' (at most three, most visit days first; two are joined by 'and').

    The dollar figure is the PLV; tags ', lapsed', ', moved away', ', moved nearby' (zip changed),
    ', tried to book online', ', opted out' follow when set. Patients without visits: 'no visits yet'.
    A deceased patient's text is 'deceased' and nothing else.
    """
    return _reasons(
        features, plv_values, lapsed_flags, signals, np.array([index], dtype=np.intp), department_names
    )[0]


def reasons_all(
    features: Features,
    plv_values: ArrayLike,
    lapsed_flags: ArrayLike,
    signals: ReactivationSignals,
    department_names: Sequence[str] | None = None,
) -> list[str]:
    """Reason text for every patient (same text as ``reasons``)."""
    return _reasons(
        features,
        plv_values,
        lapsed_flags,
        signals,
        np.arange(features.n_patients, dtype=np.intp),
        department_names,
    )
