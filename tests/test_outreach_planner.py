"""The reactivation plan: exclusions, ranking, channel limits, consent fall-through, preferences, CLI JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from receptionist.config.practice import load_practice
from receptionist.outreach.planner import CHANNELS, build_plan
from receptionist.patients.export import NoScoreRun
from receptionist.store import Appointment, Patient, PatientPhone, PatientScore, ScoreRun, VisitLine

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
ALL = {"consent_voice": True, "consent_sms": True, "consent_written": True}


def practice(staff: int = 20, ai: int = 100):
    p = load_practice()
    return dataclasses.replace(
        p, outreach=dataclasses.replace(p.outreach, staff_call_list_size=staff, ai_contact_list_size=ai)
    )


def add(
    store,
    pid: str,
    score: float,
    tier: str = "high",
    *,
    phone: bool = True,
    email: str = "x@example.com",
    lapsed: bool = True,
    **patient,
) -> None:
    """One patient of the run 'R1' with a score row (a phone and an email unless told otherwise)."""
    with store.session() as s:
        if s.get(ScoreRun, "R1") is None:
            s.add(ScoreRun(id="R1", as_of=NOW.date(), patients=0, lapsed=0, tiers={}, model={}, seconds=0.0))
            s.flush()
        s.add(
            Patient(
                id=pid, first_name=f"First{pid}", last_name="Last", email=email, has_contact=True, **patient
            )
        )
        s.flush()
        if phone:
            s.add(PatientPhone(patient_id=pid, phone=f"+1202555{int(pid[1:]):04d}", position=0))
        s.add(
            PatientScore(
                run_id="R1",
                patient_id=pid,
                tier=tier,
                plv=1000.0,
                annual_value=500.0,
                years_active=6.0,
                departments=2,
                p_alive=0.5,
                expected_visits_12m=1.0,
                expected_value_12m=300.0,
                lapsed=lapsed,
                reactivation_score=score,
                reasons="6 years, $1,000/yr, 2 departments, last visit 14 months ago, lapsed",
                last_visit=dt.date(2025, 9, 20),
            )
        )
        s.add(
            VisitLine(
                line_key=f"{pid}-1",
                patient_id=pid,
                day=dt.date(2025, 9, 20),
                amount_cents=16000,
                paid_cents=16000,
                department="hygiene",
            )
        )


def channels(plan) -> dict[str, str]:
    return {c.patient_id: c.channel for c in plan.contacts}


def test_no_score_run_raises(store):
    """An empty store has nothing to plan."""
    with pytest.raises(NoScoreRun):
        build_plan(store, practice(), NOW)


def test_exclusions(store):
    """Opted out, no contact, already booked, recent booking attempt and not-lapsed patients are left out."""
    add(store, "P1", 900, **ALL)
    add(store, "P2", 800, opted_out=True, **ALL)
    add(store, "P3", 700, phone=False, email="", **ALL)
    add(store, "P4", 600, **ALL)
    add(store, "P5", 500, booking_attempt_at=NOW - dt.timedelta(days=3), **ALL)
    add(store, "P6", 400, booking_attempt_at=NOW - dt.timedelta(days=90), **ALL)  # past the cool-down
    add(store, "P7", 300, lapsed=False, **ALL)
    add(store, "P8", 200, **ALL)
    with store.session() as s:
        for pid, start, status in (
            ("P4", NOW + dt.timedelta(days=5), "booked"),
            ("P8", NOW + dt.timedelta(days=5), "cancelled"),
            ("P1", NOW - dt.timedelta(days=5), "booked"),
        ):
            s.add(
                Appointment(patient_id=pid, location_id="main", provider="Dr A", start=start, status=status)
            )
    plan = build_plan(store, practice(), NOW)
    assert [c.patient_id for c in plan.contacts] == ["P1", "P6", "P8"]
    assert plan.left_out == {
        "opted out": 1,
        "no phone number or email": 1,
        "already booked": 1,
        "already trying to book on their own": 1,
        "not lapsed (a visit within the lapse window)": 1,
    }
    assert plan.as_json()["left_out"] == plan.left_out


def test_an_empty_plan_says_why(store, run):
    """A practice whose plan is empty is told why, with counts per reason, on the CLI and in the JSON."""
    add(store, "P1", 900, opted_out=True, **ALL)
    add(store, "P2", 800, lapsed=False, **ALL)
    add(store, "P3", 700, lapsed=False, **ALL)
    plan = build_plan(store, practice(), NOW)
    assert plan.contacts == ()
    assert plan.explain() == [
        "nobody to contact: every scored patient was left out",
        "2 not lapsed (a visit within the lapse window)",
        "1 opted out",
    ]
    r = run("campaign", "plan")
    assert r.returncode == 0, r.stderr
    assert "nobody to contact" in r.stdout and "2 not lapsed" in r.stdout and "1 opted out" in r.stdout


def test_ranked_by_reactivation_score_and_staff_list_limited(store):
    """Contacts come best score first; only the first N high-tier go to staff, the next to AI."""
    for i, score in enumerate([10, 50, 30, 40, 20], start=1):
        add(store, f"P{i}", score, **ALL)
    plan = build_plan(store, practice(staff=2, ai=2), NOW)
    assert [c.patient_id for c in plan.contacts] == ["P2", "P4", "P3", "P5", "P1"]
    assert channels(plan) == {
        "P2": "staff_call",
        "P4": "staff_call",
        "P3": "ai_call",
        "P5": "ai_call",
        "P1": "email",
    }
    staff = plan.contacts[0]
    # the raw "hygiene" department is named as its service line
    assert staff.talking_points and staff.talking_points[-1] == "usually seen for preventive"
    assert not any("$" in point or "/yr" in point for point in staff.talking_points)


def test_staff_list_only_takes_high_tier(store):
    """A mid-tier patient at the top goes to the AI slots, not the staff list."""
    add(store, "P1", 90, tier="mid", **ALL)
    add(store, "P2", 80, tier="high", **ALL)
    add(store, "P3", 70, tier="low", **ALL)
    plan = build_plan(store, practice(staff=5, ai=1), NOW)
    assert channels(plan) == {"P1": "ai_call", "P2": "staff_call", "P3": "general"}


def test_consent_fall_through(store):
    """ai_call needs voice+written consent, sms needs sms+written, then email, then the general export."""
    add(store, "P1", 90, tier="mid", **ALL)
    add(store, "P2", 80, tier="mid", consent_voice=True, consent_sms=False, consent_written=False)
    add(store, "P3", 70, tier="mid", consent_voice=False, consent_sms=True, consent_written=True)
    add(store, "P4", 60, tier="mid", consent_voice=True, consent_sms=True, consent_written=False)
    add(store, "P5", 50, tier="mid", email="", **ALL | {"consent_voice": False, "consent_sms": False})
    add(store, "P6", 40, tier="high", phone=False, **ALL)  # staff cannot call without a phone
    plan = build_plan(store, practice(), NOW)
    assert channels(plan) == {
        "P1": "ai_call",
        "P2": "email",
        "P3": "sms",
        "P4": "email",
        "P5": "general",
        "P6": "email",
    }


def test_contact_preferences_honoured(store):
    """A channel the patient set to false is skipped, for staff and AI alike."""
    add(store, "P1", 90, contact_preferences={"call": False, "text": True, "email": True}, **ALL)
    add(store, "P2", 80, tier="mid", contact_preferences={"call": False, "text": False}, **ALL)
    add(
        store, "P3", 70, tier="mid", contact_preferences={"call": False, "text": False, "email": False}, **ALL
    )
    add(store, "P4", 60, tier="high", contact_preferences={"note": "after 5 PM"}, **ALL)
    plan = build_plan(store, practice(), NOW)
    assert channels(plan) == {"P1": "sms", "P2": "email", "P3": "general", "P4": "staff_call"}


def test_counts_cost_and_value(store):
    """Counts per tier and channel, costs from the practice, value = score x P(response) - cost, where P is the
    midpoint of the practice's expected range for the tier and channel while nothing has been observed."""
    add(store, "P1", 100, **ALL)
    add(store, "P2", 50, tier="mid", **ALL)
    add(store, "P3", 10, tier="low", phone=False, **ALL)
    p = practice(staff=1, ai=1)
    plan = build_plan(store, p, NOW)
    assert channels(plan) == {"P1": "staff_call", "P2": "ai_call", "P3": "general"}
    assert plan.counts["high"]["staff_call"] == 1 and plan.counts["mid"]["ai_call"] == 1
    assert plan.counts["low"]["general"] == 1 and set(plan.counts["low"]) == set(CHANNELS)
    assert plan.expected_cost == pytest.approx(
        6.0 + 0.35
    )  # the demo's staff call and AI call, minutes included
    exp, costs = p.outreach.expected_response, p.outreach.expected_costs
    assert exp["high"]["staff_call"] == (0.25, 0.40)  # the defaults the issue names
    assert plan.expected_recovered_value == pytest.approx(
        100 * sum(exp["high"]["staff_call"]) / 2
        - costs["staff_call"]
        + 50 * sum(exp["mid"]["ai_call"]) / 2
        - costs["ai_call"]
        + 10 * sum(exp["low"]["general"]) / 2
    )


def test_cli_plan_json_and_table(run, store):
    """`campaign plan --json` prints counts and totals; the table names the staff list; no run is one line."""
    r = run("campaign", "plan")
    assert r.returncode == 1 and "no score run yet" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    add(store, "P1", 100, **ALL)
    add(store, "P2", 50, tier="mid", **ALL)
    r = run("campaign", "plan", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["run_id"] == "R1" and data["contacts"] == 2
    assert data["counts"]["high"]["staff_call"] == 1 and data["counts"]["mid"]["ai_call"] == 1
    assert set(data["counts"]) == {"high", "mid", "low"}
    assert data["expected_cost"] > 0 and data["expected_recovered_value"] == pytest.approx(
        100 * 0.325 - 6.0 + 50 * 0.16 - 0.35
    )
    assert data["response_rates"]["high"]["staff_call"] == pytest.approx(0.325)
    assert "default order" in data["mix"]["high"]["reason"]
    assert "FirstP1" not in r.stdout  # the JSON carries counts, not names
    r = run("campaign", "plan")
    assert r.returncode == 0 and "FirstP1 Last" in r.stdout and "usually seen for preventive" in r.stdout


def test_small_practice_end_to_end(store, redis_client, tmp_path):
    """On the scored small practice: the opted-out patient is left out, Margaret is on the staff list."""
    from tests.voice_helpers import MONDAY_10AM, load_small_practice

    load_small_practice(store, redis_client, tmp_path)
    plan = build_plan(store, load_practice(), MONDAY_10AM)
    assert "P3" not in channels(plan)  # opted out
    assert channels(plan)["P1"] == "staff_call"
    margaret = plan.contacts[0]
    assert margaret.name == "Margaret Ellison"
    assert not any("$" in p or "/yr" in p for p in margaret.talking_points)
    assert any(p.startswith("last visit") for p in margaret.talking_points)
    # P2 gave voice and SMS consent but no written consent, and no email: only the general export is lawful
    assert channels(plan).get("P2") in (None, "general")
