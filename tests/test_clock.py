import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from receptionist.clock import utc

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            dt.datetime(2026, 11, 27, 15, 0),
            dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC),
        ),  # naive: as stored
        (dt.datetime(2026, 11, 27, 10, 0, tzinfo=NY), dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)),
        (None, None),
    ],
)
def test_utc_is_the_same_instant_in_utc(given, expected):
    """A naive time is read as UTC (how the store wrote it), an aware one is converted, None stays None."""
    got = utc(given)
    assert got == expected
    assert got is None or got.tzinfo is dt.UTC
