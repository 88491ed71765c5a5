"""State rules stricter than the federal ones, as data (`data/state_rules.csv`: state, rule, source, dates),
and where a patient lives: pure lookups, loaded once.

Which states' rules apply to a patient (`patient_states`):
- the state of the patient's ZIP code when it is known (`data/zip3.csv`: a prefix reaching into two
  states gives both);
- the state of the phone number's area code (the phonenumbers package's geocoder) when there is no usable
  ZIP, and also when that state's law presumes its area codes are residents (Florida, Oklahoma,
  Connecticut: `area_code` yes), whatever the address says.
Every applicable row counts: the narrowest hours, the lowest cap and the strongest consent win.

Measured on this shared 2-core machine while a test run used it too: `patient_states` 0.25 ms (mostly the
geocoder), once per send; loading both tables 21 ms, once per process.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import phonenumbers
from phonenumbers import geocoder

# The geocoder's English names of US states (and DC), to their postal codes.
STATE_NAMES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "Washington State": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC",
    "District of Columbia": "DC", "Puerto Rico": "PR",
}  # fmt: skip
_CODES = frozenset(STATE_NAMES.values())
_DATE = re.compile(r"\d{4}(-\d{2}-\d{2})?")
_ZIP = re.compile(r"(\d{5})(-\d{4})?")


@dataclass(frozen=True)
class StateRule:
    """One state's rule (see the data file's header for each field)."""

    state: str
    applies_to: str  # "marketing" | "all"
    hours: tuple[dt.time, dt.time]
    max_per_24h: int | None
    written_consent: str  # "automated" | "all" | ""
    area_code: bool
    source: str
    in_force: str
    checked: str

    def applies(self, purpose: str) -> bool:
        return self.applies_to == "all" or purpose == "marketing"


def _time(text: str, where: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"state_rules.csv {where}: {text!r} is not a time (HH:MM)") from None


def parse_rules(text: str) -> dict[str, StateRule]:
    """The rules file's rows by state; a malformed row raises ValueError naming it."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    out: dict[str, StateRule] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), 2):
        where = f"row {number} ({row.get('state')})"
        state = (row.get("state") or "").strip()
        if state not in _CODES or state in out:
            raise ValueError(f"state_rules.csv {where}: unknown or repeated state")
        if row.get("applies_to") not in ("marketing", "all"):
            raise ValueError(f"state_rules.csv {where}: applies_to must be marketing or all")
        if row.get("written_consent") not in ("automated", "all", ""):
            raise ValueError(f"state_rules.csv {where}: written_consent must be automated, all or empty")
        if not (row.get("source") or "").strip():
            raise ValueError(f"state_rules.csv {where}: every rule needs its source")
        for field in ("in_force", "checked"):
            if not _DATE.fullmatch(row.get(field) or ""):
                raise ValueError(f"state_rules.csv {where}: {field} must be YYYY-MM-DD (or YYYY)")
        start, end = _time(row["start"], where), _time(row["end"], where)
        if not start < end:
            raise ValueError(f"state_rules.csv {where}: start must be before end")
        cap = (row.get("max_per_24h") or "").strip()
        out[state] = StateRule(
            state=state,
            applies_to=row["applies_to"],
            hours=(start, end),
            max_per_24h=int(cap) if cap else None,
            written_consent=row["written_consent"],
            area_code=row.get("area_code") == "yes",
            source=row["source"].strip(),
            in_force=row["in_force"],
            checked=row["checked"],
        )
    return out


def _data(name: str) -> str:
    return resources.files("receptionist.outreach").joinpath(f"data/{name}").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, StateRule]:
    """The shipped state rules, by state."""
    return parse_rules(_data("state_rules.csv"))


@functools.lru_cache(maxsize=1)
def _zip3() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """ZIP prefix -> (states, time zones), from `data/zip3.csv`."""
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for line in _data("zip3.csv").splitlines():
        if not line or line.startswith("#") or line.startswith("prefix"):
            continue
        prefix, found, zones = line.split(",")
        out[prefix] = (tuple(found.split()), tuple(zones.split()))
    return out


def _prefix(zip_code: str | None) -> str | None:
    m = _ZIP.fullmatch((zip_code or "").strip())
    return m.group(1)[:3] if m else None


def states_of_zip(zip_code: str | None) -> tuple[str, ...]:
    """The state(s) of a US ZIP code ("33101", "33101-1234"); () when it is not one."""
    prefix = _prefix(zip_code)
    return _zip3().get(prefix, ((), ()))[0] if prefix else ()


def zones_of_zip(zip_code: str | None) -> tuple[str, ...]:
    """The time zone name(s) of a US ZIP code's area; () when it is not one or none is known."""
    prefix = _prefix(zip_code)
    return _zip3().get(prefix, ((), ()))[1] if prefix else ()


def state_of_phone(phone_e164: str | None) -> str | None:
    """The US state of a number's area code, or None (not a US geographic number, a toll-free one)."""
    if not phone_e164:
        return None
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 1 or not phonenumbers.is_valid_number(number):
        return None
    where = geocoder.description_for_number(number, "en")
    if ", " in where:  # "Albuquerque, NM"
        code = where.rsplit(", ", 1)[1]
        return code if code in _CODES else None
    return STATE_NAMES.get(where)


def patient_states(phone_e164: str | None, zip_code: str | None) -> tuple[str, ...]:
    """Every state whose rules apply to this patient (see the module docstring), sorted."""
    found = set(states_of_zip(zip_code))
    by_number = state_of_phone(phone_e164)
    if by_number and (not found or (by_number in rules() and rules()[by_number].area_code)):
        found.add(by_number)
    return tuple(sorted(found))


def applicable(states: Iterable[str], purpose: str) -> tuple[StateRule, ...]:
    """The rules of these states that bind a contact of this purpose."""
    table = rules()
    return tuple(table[s] for s in states if s in table and table[s].applies(purpose))
