"""Service lines from a practice's raw department, procedure or encounter text (codes first, then words).

A practice-management export says "D1110", "prophylaxis - adult" or "Hygiene"; a FHIR EHR says "185349003
encounter for check up (procedure)". Scoring counts and names service lines, not raw texts, so "encounter for
check up (procedure)" and "general examination of patient (procedure)" are one line, check-up, and a dental
practice's lines are the CDT categories. The mapping is data (`service_lines.toml`, beside this module):
CDT code ranges, CPT ranges, SNOMED CT codes, whole texts and keywords, tried in that order; anything else
is "other". Pure: `classify` is a function of the text and the table.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

OTHER = "other"
MAX_LINES = 31  # one bit each in a visit day's uint32 mask

_CDT = re.compile(r"(?<![a-z0-9])d(\d{4})(?![0-9])")
_SNOMED = re.compile(r"^(\d{6,18})(?![0-9])")
_CPT = re.compile(r"^(\d{5}|\d{4}[ft])(?![0-9a-z])")
_TAG = re.compile(r"\s*\((procedure|encounter|regime/therapy|environment|finding|situation)\)\s*$")


@dataclass(frozen=True)
class ServiceLineTable:
    """The mapping, as read from the data file (see its header for the order of the rules)."""

    lines: tuple[str, ...]
    cdt: tuple[tuple[int, int, str], ...]  # (first, last) code numbers, inclusive
    cpt: tuple[tuple[int, int, str], ...]
    snomed: dict[str, str]
    text: dict[str, str]
    keywords: tuple[tuple[str, str], ...]

    def index(self, line: str) -> int:
        """The line's position in `lines` (its bit)."""
        return self.lines.index(line)


def _range(row: dict[str, str], strip: str = "") -> tuple[int, int, str]:
    return int(row["from"].removeprefix(strip)), int(row["to"].removeprefix(strip)), row["line"]


def parse_table(data: dict[str, object]) -> ServiceLineTable:
    """Check and freeze a parsed data file: every line named is listed, `other` is, at most 31 lines."""
    lines = tuple(str(x) for x in data["lines"])  # type: ignore[attr-defined]
    if OTHER not in lines or len(lines) > MAX_LINES or len(set(lines)) != len(lines):
        raise ValueError(
            f"service lines: `lines` must be distinct, hold {OTHER!r}, and be at most {MAX_LINES}"
        )
    table = ServiceLineTable(
        lines=lines,
        cdt=tuple(_range(r, "D") for r in data.get("cdt", [])),  # type: ignore[attr-defined]
        cpt=tuple(_range(r) for r in data.get("cpt", [])),  # type: ignore[attr-defined]
        snomed={str(k): str(v) for k, v in dict(data.get("snomed", {})).items()},  # type: ignore[call-overload]
        text={str(k).lower(): str(v) for k, v in dict(data.get("text", {})).items()},  # type: ignore[call-overload]
        keywords=tuple((str(r["word"]).lower(), str(r["line"])) for r in data.get("keyword", [])),  # type: ignore[attr-defined]
    )
    named = [r[2] for r in table.cdt + table.cpt] + list(table.snomed.values()) + list(table.text.values())
    named += [line for _, line in table.keywords]
    unknown = sorted(set(named) - set(lines))
    if unknown:
        raise ValueError(f"service lines: not in `lines`: {', '.join(unknown)}")
    return table


@lru_cache(maxsize=1)
def default_table() -> ServiceLineTable:
    """The table shipped beside this module (read once)."""
    text = resources.files("scoring").joinpath("service_lines.toml").read_text(encoding="utf-8")
    return parse_table(tomllib.loads(text))


def _in(ranges: tuple[tuple[int, int, str], ...], number: int) -> str | None:
    return next((line for lo, hi, line in ranges if lo <= number <= hi), None)


def classify(department: str, table: ServiceLineTable | None = None) -> str:
    """The service line of one raw text; "other" when no rule of the table knows it."""
    t = default_table() if table is None else table
    text = " ".join(department.lower().split())
    if not text:
        return OTHER
    cdt = _CDT.search(text)
    if cdt is not None:
        return _in(t.cdt, int(cdt.group(1))) or OTHER
    snomed = _SNOMED.match(text)
    if snomed is not None:
        line = t.snomed.get(snomed.group(1))
        if line is not None:
            return line
        text = text[snomed.end() :].strip(" :-")  # an unknown code: its display may still say what it is
    else:
        cpt = _CPT.match(text)
        if cpt is not None:
            code = cpt.group(1)
            return (_in(t.cpt, int(code)) if code.isdigit() else None) or OTHER
    bare = _TAG.sub("", text)
    if bare in t.text:
        return t.text[bare]
    return next((line for word, line in t.keywords if word in bare), OTHER)


def few(names: list[str], limit: int = 3) -> str:
    """'preventive', 'preventive and restorative', 'preventive + restorative + implants': at most `limit`,
    joined without commas (reasons are comma-separated)."""
    shown = names[:limit]
    if len(shown) <= 2:
        return " and ".join(shown)
    return " + ".join(shown)
