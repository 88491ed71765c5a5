"""Days the practice is closed: a country's public holidays it observes (the well-kept `holidays` package) and
dates of its own.

```toml
[holidays]
country = "US"   # public holidays of this country (and subdivision: "US-CA")
observe = ["New Year's Day", "Memorial Day", "Independence Day", "Labor Day", "Thanksgiving Day", "Christmas Day"]
closed = ["2026-12-24"]  # the practice's own closed days
```

Without `observe`, every public holiday of the country closes the practice; a holiday's "(observed)" weekday
counts as the holiday. A closed day has no open slots, and a call that day is an after-hours call.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import holidays as public_holidays

_OBSERVED = " (observed)"


@dataclass(frozen=True)
class Holidays:
    country: str | None = None
    observe: frozenset[str] | None = None  # None: every public holiday of the country
    closed: frozenset[dt.date] = field(default_factory=frozenset)

    def name_of(self, day: dt.date) -> str | None:
        """The holiday (or "closed") that closes the practice on `day`, or None when it is a working day."""
        if day in self.closed:
            return "closed"
        if self.country is None:
            return None
        name = _public(self.country, day.year).get(day)
        if name is None:
            return None
        base = name.removesuffix(_OBSERVED)
        if self.observe is not None and base not in self.observe:
            return None
        return base

    def is_closed(self, day: dt.date) -> bool:
        return self.name_of(day) is not None


@functools.lru_cache(maxsize=64)
def _public(country: str, year: int) -> dict[dt.date, str]:
    code, _, subdivision = country.partition("-")
    table = public_holidays.country_holidays(code, subdiv=subdivision or None, years=year)
    return {day: str(name) for day, name in table.items()}


def parse_holidays(raw: dict[str, Any], fail: Callable[[str, str], Exception]) -> Holidays:
    unknown = set(raw) - {"country", "observe", "closed"}
    if unknown:
        raise fail(f"holidays.{sorted(unknown)[0]}", "unknown key")
    country = raw.get("country")
    if country is not None:
        try:
            _public(str(country), 2026)
        except (NotImplementedError, KeyError) as exc:
            raise fail("holidays.country", f"unknown country or subdivision {country!r} ({exc})") from None
    observe = raw.get("observe")
    if observe is not None and country is not None:
        known = set(_public(str(country), 2026).values()) | set(_public(str(country), 2027).values())
        known = {n.removesuffix(_OBSERVED) for n in known}
        wrong = [str(n) for n in observe if str(n) not in known]
        if wrong:
            raise fail("holidays.observe", f"not holidays of {country}: {wrong}; known: {sorted(known)}")
    closed = set()
    for text in raw.get("closed", []):
        try:
            closed.add(dt.date.fromisoformat(str(text)))
        except ValueError:
            raise fail("holidays.closed", f"dates as YYYY-MM-DD, got {text!r}") from None
    return Holidays(
        country=str(country) if country is not None else None,
        observe=frozenset(str(n) for n in observe) if observe is not None else None,
        closed=frozenset(closed),
    )
