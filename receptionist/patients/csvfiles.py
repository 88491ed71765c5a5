"""Reading practice-management CSV exports: rows with line numbers, validated fields, clear errors."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (missing, not CSV, missing columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    why: str

    def describe(self, name: str) -> str:
        return f"{name}:{self.line}: {self.field}: {self.why}"


class BadField(ValueError):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field = field
        self.why = why


class BadRow(ValueError):
    """Every bad field of one row (a row is checked whole, so its report names them all)."""

    def __init__(self, fields: list[BadField]) -> None:
        super().__init__("; ".join(f"{b.field}: {b.why}" for b in fields))
        self.fields = fields


class FieldCheck:
    """Parses a row's fields one by one, keeping every `BadField` instead of stopping at the first:
    `value = check(parse_zip, row["zip"], "zip")` gives None for a bad field; `check.done()` raises
    `BadRow` with them all."""

    def __init__(self) -> None:
        self.bad: list[BadField] = []

    def __call__(self, parse: Callable[..., T], *args: Any) -> T | None:
        try:
            return parse(*args)
        except BadField as bad:
            self.bad.append(bad)
            return None

    def fail(self, field: str, why: str) -> None:
        self.bad.append(BadField(field, why))

    def done(self) -> None:
        if self.bad:
            raise BadRow(self.bad)


class Row(dict[str, str]):
    """One row by column name. `cut`: the file ends inside this row (its last line has no line end and fewer
    fields than the header): a file cut short in a copy or a transfer, whose last row must not be stored
    with the missing fields guessed."""

    cut: bool = False


CUT_SHORT = "the file ends in the middle of this row (cut short?): it has fewer fields than the header"


def read_rows(
    path: Path, required: tuple[str, ...], *, progress: bool = True, label: str = ""
) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row) with lower-cased, stripped column names; checks the header first. A short
    row is padded with empty fields (optional columns left off), unless it is the file's cut-off end."""
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot open ({exc.strerror})") from None
    size = path.stat().st_size
    with (
        fh,
        tqdm(
            total=size, unit="B", unit_scale=True, desc=label or path.name, disable=not progress, leave=False
        ) as bar,
    ):
        last = [""]  # the last physical line read: does the row just read end with a line end?
        reader = csv.reader(_counting(fh, bar, last))
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(f"{path}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}: not a readable CSV file ({exc})") from None
        columns = [h.strip().lower() for h in header]
        missing = [c for c in required if c not in columns]
        if missing:
            raise ImportFileError(f"{path}:1: missing column(s) {', '.join(missing)}")
        width = len(columns)
        try:
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                line = reader.line_num
                cut = len(row) < width and not last[0].endswith(("\n", "\r"))
                if len(row) < width:
                    row = row + [""] * (width - len(row))
                record = Row(zip(columns, (c.strip() for c in row), strict=False))
                record.cut = cut
                yield line, record
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}:{reader.line_num + 1}: not readable as CSV ({exc})") from None


def _counting(fh, bar: tqdm, last: list[str]) -> Iterator[str]:
    for line in fh:
        bar.update(len(line))
        last[0] = line
        yield line


_MONEY_JUNK = re.compile(r"[\s$€£,]|USD|usd")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_cents(text: str, field: str) -> int:
    """Dollars as written in exports ("$1,234.50", "-12", "(40.00)", "USD 90") -> integer cents."""
    raw = text.strip()
    if not raw:
        raise BadField(field, "empty amount")
    if not _PLAIN_NUMBER.fullmatch(raw):
        negative = raw.startswith("(") and raw.endswith(")")
        raw = _MONEY_JUNK.sub("", raw.strip("()"))
        if raw.startswith("-") and negative:
            raise BadField(field, f"not an amount ({text!r})")
        if negative:
            raw = "-" + raw
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadField(field, f"not an amount ({text!r})") from None
    if not value.is_finite() or abs(value) >= Decimal("1e9"):
        raise BadField(field, f"not a sensible amount ({text!r})")
    return int((value * 100).quantize(Decimal(1)))


_TRUE = {"yes", "y", "true", "t", "1", "x"}
_FALSE = {"no", "n", "false", "f", "0", ""}


def parse_bool(text: str, field: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadField(field, f"expected yes or no, got {text!r}")


def parse_date(text: str, field: str, *, not_after: dt.date | None = None) -> dt.date:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadField(field, f"expected a date as YYYY-MM-DD, got {text!r}") from None
    if len(text.strip()) != 10:
        raise BadField(field, f"expected a date as YYYY-MM-DD, got {text!r}")
    if not_after is not None and day > not_after:
        raise BadField(field, f"{day.isoformat()} is in the future")
    return day


# A PMS's patient statuses, as the products spell them, to the three the store keeps.
STATUSES = {
    "active": "active",
    "inactive": "inactive",
    "archived": "inactive",
    "non-patient": "inactive",
    "deceased": "deceased",
    "dead": "deceased",
    "died": "deceased",
    "expired": "deceased",  # the hospital word for a death
}


def parse_status(text: str, field: str) -> str | None:
    """A patient status as "active", "inactive" or "deceased"; None for an empty cell (nothing said)."""
    value = text.strip().lower()
    if not value:
        return None
    if value not in STATUSES:
        raise BadField(field, f"expected active, inactive or deceased, got {text!r}")
    return STATUSES[value]


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def parse_id(text: str, field: str) -> str:
    value = text.strip()
    if not value:
        raise BadField(field, "missing")
    if not _ID.fullmatch(value):
        raise BadField(field, "ids are 1-64 letters, digits or . _ : / -")
    return value


_ZIP = re.compile(r"\d{5}(-\d{4})?")


def parse_zip(text: str, field: str) -> str:
    value = text.strip()
    if value and not _ZIP.fullmatch(value):
        raise BadField(field, f"expected a 5-digit zip code, got {text!r}")
    return value[:5]


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def parse_email(text: str, field: str) -> str:
    value = text.strip()
    if value and not _EMAIL.fullmatch(value):
        raise BadField(field, f"not an email address ({text!r})")
    return value.lower()
