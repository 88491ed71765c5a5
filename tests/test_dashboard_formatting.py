"""The dashboard's pure formatting: numbers, times, phones, CSV and the visit-history series, no Flask."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from receptionist.dashboard import formatting as f

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value, text",
    [(None, "-"), (0, "$0.00"), (9.5, "$9.50"), (1234.4, "$1,234"), (-250, "-$250"), (99.994, "$99.99")],
)
def test_money(value, text):
    """Dollars: cents below $100, whole dollars above, a minus sign in front."""
    assert f.money(value) == text


@pytest.mark.parametrize(
    "when, text",
    [
        (None, "never"),
        (NOW, "just now"),
        (NOW - dt.timedelta(minutes=5), "5 minutes ago"),
        (NOW - dt.timedelta(hours=1), "1 hour ago"),
        (NOW - dt.timedelta(days=2), "2 days ago"),
        (NOW - dt.timedelta(days=400), "1 year ago"),
        (NOW + dt.timedelta(days=1), "in the future"),
        (dt.datetime(2026, 11, 28, 15, 0), "2 days ago"),  # naive: read as UTC (SQLite hands these back)
    ],
)
def test_ago(when, text):
    """Relative times in words."""
    assert f.ago(when, NOW) == text


@pytest.mark.parametrize(
    "value, text", [(None, "-"), ("+12025550143", "(202) 555-0143"), ("+442071838750", "+442071838750")]
)
def test_phone(value, text):
    """North American numbers read the local way; others stay E.164."""
    assert f.phone(value) == text


def test_pct_duration_labels():
    """Percentages, ranges, ratios, durations and labels."""
    assert (f.pct(None), f.pct(0.256), f.pct(0.256, 1)) == ("-", "26%", "25.6%")
    assert f.pct_range((0.25, 0.4)) == "25-40%" and f.pct_range(None) == "-"
    assert f.ratio(2.345) == "2.3x" and f.ratio(None) == "-"
    assert (f.duration(None), f.duration(65), f.duration(3725)) == ("-", "1:05", "1:02:05")
    assert f.tier("high") == "High" and f.tier(None) == "Unknown"
    assert f.channel("staff_call") == "Staff call" and f.channel("fax_blast") == "fax blast"
    assert f.outcome("wrong_number") == "Wrong number"


def test_csv_quotes_and_blanks():
    """CSV with a header; None is an empty cell; commas are quoted."""
    assert f.to_csv(["a", "b"], [[1, None], ["x, y", 2.5]]) == 'a,b\n1,\n"x, y",2.5\n'


def test_yearly_fills_the_gaps():
    """Visit lines become spend and visit days per year, every year between the first and last (zeros too)."""
    lines = [
        (dt.date(2021, 3, 1), 10000),
        (dt.date(2021, 3, 1), 2500),
        (dt.date(2021, 9, 1), 5000),
        (dt.date(2023, 1, 5), 16000),
    ]
    assert f.yearly(lines) == [("2021", 175.0, 2), ("2022", 0.0, 0), ("2023", 160.0, 1)]
    assert f.yearly([]) == []


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    "when, text",
    [
        (None, "-"),
        (NOW, "today at 10 AM"),
        (NOW - dt.timedelta(hours=9, minutes=55), "today at 12:05 AM"),
        (NOW - dt.timedelta(hours=10, minutes=5), "yesterday at 11:55 PM"),  # 04:55 UTC the same day
        (NOW - dt.timedelta(days=3, hours=-2), "Friday November 27th at noon"),
        (NOW - dt.timedelta(days=400), "Sunday October 26th, 2025 at 11 AM"),  # summer time: UTC-4
    ],
)
def test_when_is_in_words_in_the_locations_zone(when, text):
    """Staff times in words in the location's zone: today, yesterday, else the date (with the year when far)."""
    assert f.when(when, NOW, NEW_YORK) == text


def test_requests_counts_in_words():
    """A group's size: "1 request", "3 requests"."""
    assert (f.requests(1), f.requests(3)) == ("1 request", "3 requests")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "6 years, $4,709/yr, 3 departments, last visit 7 months ago, lapsed",
            ["6 years", "$4,709/yr", "3 departments", "last visit 7 months ago", "lapsed"],
        ),
        (
            "12 years, $1,234,567/yr, last visit 2 years ago",
            ["12 years", "$1,234,567/yr", "last visit 2 years ago"],
        ),
        ("new patient, $812/yr, today", ["new patient", "$812/yr", "today"]),
        ("no visits yet, opted out", ["no visits yet", "opted out"]),
        ("", []),
    ],
)
def test_reason_chips_keep_thousands_whole(text, parts):
    """A reason's dollar figure of $1,000 or more stays one chip: only ", " separates parts."""
    from receptionist.dashboard.queries import reasons_of

    assert reasons_of(text) == parts


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (dt.datetime(2026, 12, 8, 19, 0, tzinfo=dt.UTC), "Tue Dec 8, 2:00 PM EST"),
        (dt.datetime(2026, 7, 1, 12, 5, tzinfo=dt.UTC), "Wed Jul 1, 8:05 AM EDT"),
        (dt.datetime(2026, 12, 8, 5, 0, tzinfo=dt.UTC), "Tue Dec 8, 12:00 AM EST"),
        (None, "-"),
    ],
)
def test_local_time_is_in_words_in_the_locations_zone(when, text):
    """Times on every page: the location's zone, weekday, month and 12-hour clock, never UTC or ISO."""
    assert f.local_time(when, ZoneInfo("America/New_York")) == text


def test_days_are_in_words():
    """Calendar days (last visit, a run's as-of date) read as words; ISO text is read first."""
    assert f.day(dt.date(2025, 9, 20)) == "Sat Sep 20, 2025"
    assert f.day("2026-11-30") == "Mon Nov 30, 2026"
    assert f.day(None) == "-"


@pytest.mark.parametrize(
    ("direction", "status", "route", "transfer", "result", "facts", "text"),
    [
        ("outbound", "completed", "ai", None, "voicemail", {}, "Voicemail left"),
        ("outbound", "no-answer", None, None, "no-answer", {}, "No answer"),
        ("outbound", "busy", None, None, None, {}, "Line busy: not answered"),
        ("outbound", "completed", "ai", None, "answered", {}, "Answered: talked with the patient"),
        (
            "outbound",
            "completed",
            "ai",
            None,
            "answered",
            {"appointment": {"action": "booked"}},
            "Answered: talked with the patient; appointment booked",
        ),
        ("inbound", "completed", "staff", "accepted", None, {}, "Put through to staff"),
        (
            "inbound",
            "completed",
            "ai",
            "declined",
            None,
            {"message_taken": True},
            "Staff declined the transfer; message taken",
        ),
        (
            "inbound",
            "completed",
            "ai",
            "no-answer",
            None,
            {},
            "Staff did not answer the transfer; the AI receptionist carried on",
        ),
        ("inbound", "completed", "closed", None, None, {}, "Closed: after-hours message"),
    ],
)
def test_what_happened_on_a_call(direction, status, route, transfer, result, facts, text):
    """Each call record says what happened: a voicemail is never "answered", a declined transfer says so."""
    from receptionist.dashboard.callrecords import what_happened

    assert what_happened(direction, status, route, transfer, result, facts) == text


def test_the_monthly_chart_never_skips_a_month():
    """Months without data stay on the chart's axis (as gaps), across a year's end too."""
    from receptionist.dashboard.results import month_range

    assert month_range(["2026-01", "2026-04"]) == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert month_range(["2026-12", "2027-02"]) == ["2026-12", "2027-01", "2027-02"]
    assert month_range([]) == []
