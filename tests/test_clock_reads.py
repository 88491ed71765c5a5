"""One clock: product code reads the time of day only through the injected clock (`receptionist/clock.py`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("receptionist", "scoring")
# The clock module holds the one wall-clock read the product makes.
ALLOWED = {Path("receptionist/clock.py")}
# Calls that read the wall clock for domain time. Monotonic timers (time.monotonic, time.perf_counter) measure
# durations and are fine.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "strftime"),
}


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for every call of `<...>.datetime.now()`, `date.today()`, `time.time()`, ..., and every
    reference to one that is not called there (`now=time.time` hands the wall clock on)."""
    tree = ast.parse(source)
    formatting = set()  # time.strftime(fmt, t) and friends format a given time: not a read of the clock
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called.add(id(node.func))
            if node.func.attr in ("strftime", "localtime", "gmtime", "ctime") and len(node.args) > (
                node.func.attr == "strftime"
            ):
                formatting.add(id(node.func))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in formatting:
            continue
        owner = node.value
        name = (
            owner.attr
            if isinstance(owner, ast.Attribute)
            else owner.id
            if isinstance(owner, ast.Name)
            else None
        )
        if (name, node.attr) in WALL_CLOCK:
            found.append((node.lineno, f"{name}.{node.attr}" + ("()" if id(node) in called else "")))
    return sorted(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import datetime as dt\ndt.datetime.now(dt.UTC)", [(2, "datetime.now()")]),
        ("from datetime import datetime\ndatetime.now()", [(2, "datetime.now()")]),
        ("import datetime\ndatetime.date.today()", [(2, "date.today()")]),
        ("import time\ntime.time()", [(2, "time.time()")]),
        ("import datetime as dt\ndt.datetime.utcnow()", [(2, "datetime.utcnow()")]),
        ("import time\ntime.monotonic(); time.perf_counter()", []),
        ("import time\ntime.strftime('%Y', t)", []),
        ("import datetime as dt\ndt.datetime.fromisoformat('2026-01-01')", []),
        ("import time\ndef f(now=time.time): ...", [(2, "time.time")]),
        ("import time\ntime.localtime()", [(2, "time.localtime()")]),
    ],
)
def test_the_check_finds_wall_clock_reads(source, expected):
    """The check itself: it finds each spelling of a wall-clock read and leaves timers and parsing alone."""
    assert wall_clock_reads(source) == expected


def test_product_code_reads_no_wall_clock():
    """No module of the product but the clock reads the wall clock: "now" and "today" come from the injected
    clock, so the product runs on one time everywhere (tests, `call --at`, `RECEPTIONIST_CLOCK`)."""
    offenders = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel in ALLOWED:
                continue
            offenders += [f"{rel}:{line}: {call}" for line, call in wall_clock_reads(path.read_text())]
    assert not offenders, "wall-clock reads outside receptionist/clock.py:\n" + "\n".join(offenders)
