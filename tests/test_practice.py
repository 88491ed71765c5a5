import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from receptionist.config.practice import PracticeFileError, load_practice


def test_demo_practice_matches_the_contract():
    """The demo practice answers +1 202 555 0100, Monday to Friday 08:00-17:00 America/New_York."""
    practice = load_practice()
    main = practice.main
    assert main.phone == "+12025550100"
    assert main.timezone == "America/New_York"
    ny = ZoneInfo("America/New_York")
    assert main.is_open(dt.datetime(2026, 11, 23, 8, 0, tzinfo=ny))  # Monday 08:00
    assert not main.is_open(dt.datetime(2026, 11, 23, 17, 0, tzinfo=ny))
    assert not main.is_open(dt.datetime(2026, 11, 28, 10, 0, tzinfo=ny))  # Saturday
    assert main.hours.describe() == "Monday to Friday, 8 AM to 5 PM"
    assert practice.tiers.high_min_annual == 250 and practice.tiers.high_min_years == 3
    assert practice.location_for("+12025550100") is main
    assert practice.location_for("+19995550100") is None


def test_open_hours_follow_the_location_time_zone():
    """An instant in UTC is judged in the location's own time zone."""
    main = load_practice().main
    assert main.is_open(dt.datetime(2026, 11, 23, 13, 30, tzinfo=dt.UTC))  # 08:30 in New York
    assert not main.is_open(dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC))  # 07:30


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("[[locations]]\nphone='x'\n", "locations[0].phone"),
        ("[[locations]]\nphone='+12025550100'\ntimezone='Mars/Base'\n", "locations[0].timezone"),
        ("[[locations]]\nphone='+12025550100'\n[locations.hours]\nmon='9-5'\n", "locations[0].hours.mon"),
        ("[[locations]]\nphone='+12025550100'\n[locations.hours]\nfunday='09:00-17:00'\n", "funday"),
        ("[practice]\nname='x'\n", "locations"),
        ("not toml [", "not valid TOML"),
        ("[[locations]]\nphone='+12025550100'\n[tiers]\nhigh_min_annual='lots'\n", "tiers"),
    ],
)
def test_bad_practice_files_name_the_field(tmp_path, body, names):
    """A wrong practice file is refused with a message naming the file and the field."""
    path = tmp_path / "practice.toml"
    path.write_text(body)
    with pytest.raises(PracticeFileError) as err:
        load_practice(path)
    assert str(path) in str(err.value) and names in str(err.value)


def test_missing_practice_file(tmp_path):
    """A practice file that does not exist is a clear error."""
    with pytest.raises(PracticeFileError, match="cannot read"):
        load_practice(tmp_path / "nope.toml")
