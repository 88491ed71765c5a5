"""Spreadsheet-safe CSV: every CSV the product writes goes through here, since cells can carry text a patient
typed (an intake form, a FHIR resource, a name) and a spreadsheet runs a cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return as a formula (`=HYPERLINK(...)` sends the sheet's data elsewhere).

`cell` prefixes such text with an apostrophe (OWASP's advice), which spreadsheets show as plain text; numbers
(`-40.00`, `+12025550143`) are left as they are. `writer` is `csv.writer` with every cell neutralised.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def cell(value: object) -> object:
    """The value as a spreadsheet shows it as text: formula-like strings get a leading apostrophe."""
    if not isinstance(value, str) or not value:
        return value
    first = value.lstrip(" \u00a0")[:1]
    if (first in _TRIGGERS or value[0] in _TRIGGERS) and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def row(values: Iterable[object]) -> list[object]:
    return [cell("" if v is None else v) for v in values]


class SafeWriter:
    """`csv.writer`, with every cell neutralised."""

    def __init__(self, fh: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, values: Iterable[object]) -> Any:
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(fh: IO[str], **kwargs: Any) -> SafeWriter:
    return SafeWriter(fh, **kwargs)


def open_private(path: Path | str) -> IO[str]:
    """A CSV file to write patient data into, created readable by this account only (0600) from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that was already there keeps no wider mode
    return os.fdopen(fd, "w", newline="")
