"""Send-time gates: calling hours in the patient's zone, daily/weekly caps, consent and opt-out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from receptionist.config.practice import OutreachRules
from receptionist.outreach.gates import Decision, may_contact, patient_zone

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
LA = ZoneInfo("America/Los_Angeles")
RULES = OutreachRules()
H = dt.timedelta(hours=1)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0, zone: ZoneInfo = NY) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=zone).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("phone", "default", "expected"),
    [
        ("+12025550143", CHICAGO, NY),  # Washington DC
        ("+13125550123", NY, CHICAGO),  # Chicago
        ("+14155550100", NY, LA),  # San Francisco
        ("+442071234567", NY, ZoneInfo("Europe/London")),
        ("+19075550100", CHICAGO, CHICAGO),  # Alaska: Adak and Anchorage differ, so the practice's zone
        ("", CHICAGO, CHICAGO),
        (None, CHICAGO, CHICAGO),
        ("not a number", LA, LA),
    ],
)
def test_patient_zone_from_phone(phone, default, expected):
    """The zone comes from the number; unknown or ambiguous numbers use the practice's zone."""
    assert patient_zone(phone, "", default) == expected


@pytest.mark.parametrize(
    ("now", "zone", "attempts", "allowed", "reason", "retry_at"),
    [
        (utc(2026, 11, 30, 10), NY, [], True, "allowed", None),
        (utc(2026, 11, 30, 8), NY, [], True, "allowed", None),
        (utc(2026, 11, 30, 20, 59), NY, [], True, "allowed", None),
        (utc(2026, 11, 30, 7, 59), NY, [], False, "outside calling hours", utc(2026, 11, 30, 8)),
        (utc(2026, 11, 30, 21), NY, [], False, "outside calling hours", utc(2026, 12, 1, 8)),
        # 8:30 in New York is 7:30 in Chicago: a Chicago patient waits for 8:00 Chicago time
        (
            utc(2026, 11, 30, 8, 30),
            CHICAGO,
            [],
            False,
            "outside calling hours",
            utc(2026, 11, 30, 8, 0, CHICAGO),
        ),
        # one attempt 3 hours ago: wait until it is 24 hours old
        (
            utc(2026, 11, 30, 13),
            NY,
            [utc(2026, 11, 30, 10)],
            False,
            "daily attempt limit reached",
            utc(2026, 12, 1, 10),
        ),
        # an attempt exactly 24 hours ago no longer counts
        (utc(2026, 11, 30, 13), NY, [utc(2026, 11, 29, 13)], True, "allowed", None),
        # aging out at 20:30 local is still inside hours
        (
            utc(2026, 11, 30, 13),
            NY,
            [utc(2026, 11, 29, 20, 30)],
            False,
            "daily attempt limit reached",
            utc(2026, 11, 30, 20, 30),
        ),
        # three attempts in the past 7 days: the oldest must age out (then it is 9:00, inside hours)
        (
            utc(2026, 11, 30, 10),
            NY,
            [utc(2026, 11, 24, 9), utc(2026, 11, 26, 9), utc(2026, 11, 28, 9)],
            False,
            "weekly attempt limit reached",
            utc(2026, 12, 1, 9),
        ),
        # the oldest of three aged out half an hour ago
        (
            utc(2026, 11, 30, 10),
            NY,
            [utc(2026, 11, 23, 9, 30), utc(2026, 11, 26, 9), utc(2026, 11, 28, 9)],
            True,
            "allowed",
            None,
        ),
        # the week frees up at 21:30 local, after hours: wait for the next morning
        (
            utc(2026, 11, 30, 10),
            NY,
            [utc(2026, 11, 24, 21, 30), utc(2026, 11, 26, 9), utc(2026, 11, 28, 9)],
            False,
            "weekly attempt limit reached",
            utc(2026, 12, 2, 8),
        ),
    ],
)
def test_may_contact_table(now, zone, attempts, allowed, reason, retry_at):
    """Hours and caps give the documented decision and the next allowed instant."""
    assert may_contact(now, zone, attempts, True, False, RULES) == Decision(allowed, reason, retry_at)


@pytest.mark.parametrize(
    ("consent", "opted_out", "reason"),
    [(True, True, "opted out"), (False, False, "no consent"), (False, True, "opted out")],
)
def test_never_without_consent_or_after_opt_out(consent, opted_out, reason):
    """Opted-out or unconsented patients are never contacted and have no retry time."""
    assert may_contact(utc(2026, 11, 30, 10), NY, [], consent, opted_out, RULES) == Decision(
        False, reason, None
    )


def test_naive_times_are_refused():
    """A naive datetime is a programming error, not a guess at a zone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        may_contact(dt.datetime(2026, 11, 30, 10), NY, [], True, False, RULES)


def test_zero_caps_never_allow():
    """A practice that sets a cap of zero disables outreach."""
    rules = dataclasses.replace(RULES, max_attempts_per_day=0)
    assert may_contact(utc(2026, 11, 30, 10), NY, [], True, False, rules).retry_at is None


ZONES = st.sampled_from(
    [
        NY,
        CHICAGO,
        LA,
        ZoneInfo("America/Denver"),
        ZoneInfo("America/Phoenix"),
        ZoneInfo("Pacific/Honolulu"),
        ZoneInfo("America/Anchorage"),
        ZoneInfo("Europe/London"),
    ]
)
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
instants = st.integers(0, 2 * 365 * 24 * 60).map(lambda m: START + dt.timedelta(minutes=m))


@st.composite
def histories(draw):
    now = draw(instants)
    ago = draw(st.lists(st.integers(1, 10 * 24 * 60), max_size=6))
    return now, [now - dt.timedelta(minutes=m) for m in ago]


def _lawful(now: dt.datetime, zone: ZoneInfo, attempts: list[dt.datetime]) -> bool:
    local = now.astimezone(zone).time()
    day = sum(1 for a in attempts if now - dt.timedelta(days=1) < a <= now)
    week = sum(1 for a in attempts if now - dt.timedelta(days=7) < a <= now)
    return dt.time(8) <= local < dt.time(21) and day < 1 and week < 3


@settings(max_examples=300, deadline=None)
@given(histories(), ZONES)
def test_allowed_only_when_every_rule_holds(history, zone):
    """Allowed exactly when inside 8:00-21:00 local and under one a day and three in seven days."""
    now, attempts = history
    decision = may_contact(now, zone, attempts, True, False, RULES)
    assert decision.allowed == _lawful(now, zone, attempts)
    assert (decision.retry_at is None) == decision.allowed


@settings(max_examples=300, deadline=None)
@given(histories(), ZONES)
def test_retry_at_is_allowed_when_rechecked(history, zone):
    """retry_at is later than now and is allowed when checked again with the same history."""
    now, attempts = history
    decision = may_contact(now, zone, attempts, True, False, RULES)
    if decision.retry_at is not None:
        assert decision.retry_at > now
        assert may_contact(decision.retry_at, zone, attempts, True, False, RULES).allowed
        # and nothing earlier is: one minute before is still blocked
        assert not _lawful(decision.retry_at - dt.timedelta(minutes=1), zone, attempts)


@settings(max_examples=200, deadline=None)
@given(histories(), ZONES, st.booleans(), st.booleans())
def test_never_for_opted_out_or_unconsented(history, zone, consent, opted_out):
    """Without consent or after an opt-out the answer is always no, with no retry time."""
    assume(opted_out or not consent)
    now, attempts = history
    d = may_contact(now, zone, attempts, consent, opted_out, RULES)
    assert not d.allowed and d.retry_at is None


def test_a_number_spanning_zones_must_be_inside_the_hours_in_every_one():
    """Alaska's 907 covers Anchorage and Adak (an hour behind): 8:30 in Anchorage is 7:30 in Adak, so not yet."""
    from receptionist.outreach.gates import patient_zones

    zones = patient_zones("+19075550100", "", CHICAGO)
    assert zones == (ZoneInfo("America/Adak"), ZoneInfo("America/Anchorage"))
    anchorage_830 = dt.datetime(2026, 11, 30, 8, 30, tzinfo=ZoneInfo("America/Anchorage"))
    d = may_contact(anchorage_830.astimezone(dt.UTC), zones, [], True, False, RULES)
    assert (d.allowed, d.reason) == (False, "outside calling hours")
    assert d.retry_at == dt.datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("America/Adak")).astimezone(dt.UTC)
    assert may_contact(d.retry_at, zones, [], True, False, RULES).allowed
    # zones whose hours never all overlap (UTC, UTC+8, UTC-8 in winter): never, rather than a guess
    far = (ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai"), ZoneInfo("America/Los_Angeles"))
    d = may_contact(anchorage_830.astimezone(dt.UTC), far, [], True, False, RULES)
    assert (d.allowed, d.retry_at) == (False, None) and "common" in d.reason


# -- the purpose's and the states' rules (COMPLIANCE.md, 2025) --------------------------------------------
STATE_SETS = st.sets(st.sampled_from(["FL", "OK", "MD", "CT", "WA", "TX", "NY", "IL"]), max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    histories(),
    ZONES,
    STATE_SETS,
    st.sampled_from(["exempt", "marketing"]),
    st.integers(1, 6),
    st.integers(1, 12),
)
def test_purpose_and_state_rules_hold_whenever_a_contact_is_allowed(history, zone, codes, purpose, day, week):
    """For any purpose, any states and any practice caps: allowed exactly when inside the narrowest hours and
    under the lowest caps of the exemption (exempt: 1 a day, 3 a week) and of every state rule that binds
    the purpose (the data table as the spec); the narrowed rules are never looser than the practice's."""
    from receptionist.outreach import states
    from receptionist.outreach.gates import rules_for

    now, attempts = history
    practice = dataclasses.replace(RULES, max_attempts_per_day=day, max_attempts_per_week=max(day, week))
    narrowed = rules_for(practice, purpose, states.applicable(codes, purpose))
    start, end = dt.time(8), dt.time(21)
    per_day, per_week = practice.max_attempts_per_day, practice.max_attempts_per_week
    if purpose == "exempt":
        per_day, per_week = min(per_day, 1), min(per_week, 3)
    for code in codes:
        rule = states.rules().get(code)
        if rule is None or not (purpose == "marketing" or rule.applies_to == "all"):
            continue
        start, end = max(start, rule.hours[0]), min(end, rule.hours[1])
        per_day = min(per_day, rule.max_per_24h or per_day)
    local = now.astimezone(zone).time()
    in_day = sum(1 for a in attempts if now - dt.timedelta(days=1) < a <= now)
    in_week = sum(1 for a in attempts if now - dt.timedelta(days=7) < a <= now)
    lawful = start <= local < end and in_day < per_day and in_week < per_week
    decision = may_contact(now, zone, attempts, True, False, narrowed)
    assert decision.allowed == lawful
    assert narrowed.calling_hours[0] >= practice.calling_hours[0]
    assert narrowed.calling_hours[1] <= practice.calling_hours[1]
    assert narrowed.max_attempts_per_day <= practice.max_attempts_per_day
    assert narrowed.max_attempts_per_week <= practice.max_attempts_per_week
    if decision.retry_at is not None:
        assert may_contact(decision.retry_at, zone, attempts, True, False, narrowed).allowed
