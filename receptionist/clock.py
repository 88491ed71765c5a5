"""Instants: the store keeps every time in UTC, and SQLite gives them back without a zone."""

from __future__ import annotations

import datetime as dt
from typing import overload


@overload
def utc(value: dt.datetime) -> dt.datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: dt.datetime | None) -> dt.datetime | None:
    """The same instant in UTC; a naive value is taken as UTC (how the store wrote it); None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
