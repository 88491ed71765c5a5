"""Recall reminders (hygiene and periodic visits): who is due, the short sequence around the due date, the
healthcare exemption's limits, when it stops, and a recall run through the workers and the Twilio stand-in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from receptionist.config.practice import OutreachRules, PracticeFileError, _parse, load_practice
from receptionist.config.recall import RecallRules, RecallStep
from receptionist.config.visit_types import VisitType
from receptionist.outcomes.log import store_counts
from receptionist.outcomes.report import build_report, render
from receptionist.outreach.campaigns import CampaignError
from receptionist.outreach.gates import exempt_text_problem, may_contact, rules_for
from receptionist.outreach.recall import (
    LEFT_OUT,
    RECALL_KIND,
    RecallType,
    add_months,
    build_recall_plan,
    due_date,
    next_step,
    recall_types,
    step_of,
)
from receptionist.simulation.localtwilio import Callee
from receptionist.store import Campaign, OutcomeEvent, OutreachAttempt, Patient, VisitLine
from receptionist.store.schedule import Appointment
from receptionist.wording.recall import STAGES, recall_sms_text
from tests.dashboard_helpers import sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work

TODAY = MONDAY_10AM.date()  # 2026-11-30, a Monday; 10:00 in Washington
PRACTICE = "Brightsmile Dental"
HEAD = f"{PRACTICE} (202) 555-0100:"


def recall_patient(
    store, pid: str, last_cleaning: dt.date | None = None, *, pms_due: dt.date | None = None, **patient
) -> None:
    """A patient of the demo practice with a cleaning (CDT D1110, preventive) on `last_cleaning`, and the
    PMS's due date when given (besides the old hygiene visit `add_patient` gives everyone)."""
    add_patient(store, pid, 50.0, **patient)
    with store.session() as s:
        if last_cleaning is not None:
            s.add(
                VisitLine(
                    line_key=f"{pid}-cleaning",
                    patient_id=pid,
                    day=last_cleaning,
                    amount_cents=9550,
                    paid_cents=9550,
                    department="d1110 prophylaxis - adult",
                )
            )
        if pms_due is not None:
            s.get(Patient, pid).recall_due_on = pms_due


def start_recall(w):
    made = build_recall_plan(w.services.store, w.services.practice, w.clock[0])
    return made, w.services.campaigns.start(made.plan, w.clock[0], kind=RECALL_KIND)


def texts_to(w, pid: str) -> list[str]:
    return [m.body for m in w.twilio.messages.values() if m.to == phone_of(pid)]


# -- who is due ----------------------------------------------------------------------------------------------
CLEANING = VisitType("cleaning", "cleaning", 60, ("Hygienist Patel",), min_age=14, recall_months=6)
CHILD = VisitType("child_visit", "child's visit", 30, ("Dr. Rivera",), max_age=13, recall_months=4)
PERIO = VisitType(
    "perio",
    "periodontal maintenance",
    60,
    ("Hygienist Patel",),
    recall_months=3,
    recall_lines=("periodontics",),
)
RULES = RecallRules()


@pytest.mark.parametrize(
    ("last", "age", "pms", "expected"),
    [
        (
            {"preventive": dt.date(2026, 6, 14)},
            40,
            None,
            (dt.date(2026, 12, 14), "visits"),
        ),  # cleaning: 6 months
        (
            {"preventive": dt.date(2026, 6, 14)},
            9,
            None,
            (dt.date(2026, 10, 14), "visits"),
        ),  # a child: 4 months
        ({"preventive": dt.date(2026, 6, 14)}, None, None, (dt.date(2026, 10, 14), "visits")),  # age unknown
        # perio maintenance every 3 months: its own line, the earliest type wins
        (
            {"preventive": dt.date(2026, 6, 14), "periodontics": dt.date(2026, 8, 31)},
            40,
            None,
            (dt.date(2026, 11, 30), "visits"),
        ),
        ({"restorative": dt.date(2026, 6, 14)}, 40, None, None),  # a filling is no recall visit
        (
            {"preventive": dt.date(2026, 6, 14)},
            40,
            dt.date(2027, 2, 1),
            (dt.date(2027, 2, 1), "pms"),
        ),  # PMS wins
        ({}, 40, dt.date(2027, 2, 1), (dt.date(2027, 2, 1), "pms")),  # a PMS date needs no visit
    ],
)
def test_the_due_date_is_the_last_visit_plus_its_types_interval_unless_the_pms_has_one(
    last, age, pms, expected
):
    """Each visit type's own interval over its own service lines, for the patients it fits by age; the
    earliest type wins, and a due date stored from the PMS wins over every computed one."""
    types = recall_types((CLEANING, CHILD, PERIO), RULES)
    assert due_date(pms, last, age, types) == expected


def test_without_an_interval_in_the_practice_file_hygiene_recalls_every_six_months():
    """A practice whose visit types set no `recall_months` gets the default 6-month hygiene recall over the
    preventive lines; `default_months = 0` turns it off."""
    plain = dataclasses.replace(CLEANING, recall_months=None)
    (only,) = recall_types((plain,), RULES)
    assert only == RecallType("hygiene", 6, frozenset({"preventive", "check-up"}))
    assert due_date(None, {"check-up": dt.date(2026, 8, 31)}, 50, (only,)) == (dt.date(2027, 2, 28), "visits")
    assert recall_types((plain,), dataclasses.replace(RULES, default_months=0)) == ()
    assert add_months(dt.date(2024, 8, 31), 6) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 15)


def test_the_practice_file_sets_the_recall_and_refuses_what_makes_no_sense():
    """`[recall]` and `[[recall.steps]]` as the README shows them; the demo practice's visit types carry
    their intervals; a bad step, channel or line is refused with its place."""
    demo = load_practice()
    assert {t.id: t.months for t in recall_types(demo.visit_types, demo.recall)} == {
        "cleaning": 6,
        "child_visit": 6,
    }
    assert [s.days for s in demo.recall.steps] == [-14, 0, 14]
    base = {
        "practice": {"name": "P"},
        "locations": [{"id": "main", "phone": "+12025550100", "providers": ["Dr. A"]}],
    }
    got = _parse(
        {
            **base,
            "recall": {"steps": [{"days": -7, "channels": ["sms"]}, {"days": 21, "channels": ["ai_call"]}]},
        },
        "test",
    )
    assert got.recall.steps == (RecallStep(-7, ("sms",)), RecallStep(21, ("ai_call",)))
    assert got.recall.lead_days == 7
    for bad, where in (
        ({"steps": [{"days": 0, "channels": ["email"]}]}, "recall.steps[0].channels"),
        ({"steps": [{"days": 5}, {"days": 5}]}, "recall.steps"),
        ({"lines": ["teeth"]}, "recall.lines"),
        ({"max_overdue_days": 3}, "recall.max_overdue_days"),
        ({"every": 3}, "recall.every"),
    ):
        with pytest.raises(PracticeFileError, match=where.replace("[", r"\[").replace("]", r"\]")):
            _parse({**base, "recall": bad}, "test")


@pytest.mark.parametrize(
    ("today", "done", "expected"),
    [
        (dt.date(2026, 11, 30), 0, None),  # more than 14 days ahead of the due date
        (dt.date(2026, 12, 1), 0, 1),  # 14 days before: the first text
        (dt.date(2026, 12, 1), 1, None),  # made already
        (dt.date(2026, 12, 15), 1, 2),  # on the due date
        (dt.date(2026, 12, 20), 0, 2),  # a missed first day: only the latest step, never a burst
        (dt.date(2026, 12, 29), 1, 3),  # 14 days after
        (dt.date(2027, 1, 10), 3, None),  # the sequence is over
        (dt.date(2026, 12, 29), 2, 3),
        (dt.date(2027, 2, 14), 0, None),  # overdue for longer than 60 days: reactivation's patient
    ],
)
def test_one_step_at_a_time_the_latest_whose_day_has_come(today, done, expected):
    assert next_step(dt.date(2026, 12, 15), today, RULES, done) == expected


@given(
    offsets=st.lists(st.integers(-60, 60), min_size=1, max_size=6, unique=True),
    runs=st.lists(st.integers(-90, 150), max_size=40),
    overdue=st.integers(60, 120),
)
def test_any_days_of_runs_make_each_step_at_most_once_in_order_and_never_early(offsets, runs, overdue):
    """Whatever days `recall run` happens on (missed days, several a day): steps come in increasing order,
    each at most once and one a run, never before its day, and none after the overdue limit."""
    rules = RecallRules(
        steps=tuple(RecallStep(d, ("sms",)) for d in sorted(offsets)), max_overdue_days=max(overdue, *offsets)
    )
    due = dt.date(2027, 3, 1)
    made: list[tuple[int, int]] = []
    for day in sorted(runs):
        today = due + dt.timedelta(days=day)
        step = next_step(due, today, rules, max((s for s, _ in made), default=0))
        if step is not None:
            made.append((step, day))
    steps = [s for s, _ in made]
    assert steps == sorted(set(steps))
    for step, day in made:
        assert rules.steps[step - 1].days <= day <= rules.max_overdue_days


# -- what a reminder says ------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    ("practice", "first"),
    [
        (PRACTICE, "Ana"),
        (PRACTICE, None),
        ("The Very Long Family and Cosmetic Dentistry Practice of Northern Virginia", "Maximiliana-Josefina"),
    ],
)
def test_a_reminder_names_the_practice_and_number_first_and_fits_one_text(language, stage, practice, first):
    """Every stage, in both languages, with long names: the practice and its number first, at most 160
    characters, the opt-out, no marketing: the exemption's text (the send-time check agrees)."""
    body = recall_sms_text(practice, first, "+12025550100", stage, language)
    assert body.startswith(f"{practice[:60].strip()} (202) 555-0100:")
    assert len(body) <= 160 and "STOP" in body
    assert exempt_text_problem(body, practice, "+12025550100") is None
    if first == "Ana":
        assert "Ana" in body


def test_the_stages_say_before_on_and_after_the_due_date():
    say = {s: recall_sms_text(PRACTICE, "Ana", "+12025550100", s) for s in STAGES}
    assert say == {
        "before": f"{HEAD} Hi Ana, your check-up is due soon. Call us to schedule. Reply STOP to opt out.",
        "due": f"{HEAD} Hi Ana, your check-up is due now. Call us to schedule. Reply STOP to opt out.",
        "after": f"{HEAD} Hi Ana, your check-up is overdue. Call us to schedule. Reply STOP to opt out.",
    }


def test_the_exemptions_caps_hold_whatever_the_practice_allows():
    """At most 1 healthcare contact a day and 3 a week, even when the practice's own limits are higher."""
    loose = OutreachRules(max_attempts_per_day=5, max_attempts_per_week=10)
    exempt = rules_for(loose, "exempt")
    assert (exempt.max_attempts_per_day, exempt.max_attempts_per_week) == (1, 3)
    zone = ZoneInfo("America/New_York")
    today = may_contact(MONDAY_10AM, zone, [MONDAY_10AM - dt.timedelta(hours=3)], True, False, exempt)
    assert not today.allowed and today.reason == "daily attempt limit reached"
    week = [MONDAY_10AM - dt.timedelta(days=d) for d in (2, 4, 6)]
    weekly = may_contact(MONDAY_10AM, zone, week, True, False, exempt)
    assert not weekly.allowed and weekly.reason == "weekly attempt limit reached"
    assert may_contact(MONDAY_10AM, zone, week, True, False, loose).allowed


# -- who is left out ----------------------------------------------------------------------------------------
def test_booked_visited_opted_out_responded_and_overdue_patients_are_left_out_and_the_deceased_never_counted(
    store,
):
    """Only the due patient who has not booked, visited, answered or opted out gets a reminder; the deceased
    and inactive are not even candidates."""
    due_today = dt.date(2026, 6, 14)  # + 6 months = 14 December: the first reminder today
    recall_patient(store, "P1", due_today, **ALL)
    recall_patient(store, "P2", due_today, **ALL)  # booked
    recall_patient(store, "P3", pms_due=dt.date(2026, 12, 10), **ALL)  # visited on 28 November
    recall_patient(store, "P4", due_today, opted_out=True, **ALL)
    recall_patient(store, "P5", due_today, **ALL)  # replied to a text this morning
    recall_patient(store, "P6", due_today, status="deceased", **ALL)
    recall_patient(store, "P7", due_today, status="inactive", **ALL)
    recall_patient(store, "P8", due_today)  # no consent to texts or calls
    recall_patient(store, "P9", pms_due=dt.date(2026, 8, 1), **ALL)  # 4 months overdue
    recall_patient(store, "P10", due_today, phone=False, **ALL)
    recall_patient(store, "P11", dt.date(2026, 9, 1), **ALL)  # due in March: not yet
    with store.session() as s:
        s.add(
            Appointment(
                patient_id="P2",
                location_id="main",
                provider="Hygienist Patel",
                start=MONDAY_10AM + dt.timedelta(days=9),
                minutes=60,
                status="booked",
            )
        )
        s.add(
            VisitLine(
                line_key="P3-visit",
                patient_id="P3",
                day=dt.date(2026, 11, 28),
                amount_cents=9550,
                paid_cents=9550,
                department="d1110",
            )
        )
        s.add(
            OutcomeEvent(
                key="replied:x",
                kind="replied",
                tier="mid",
                channel="sms",
                month="2026-11",
                at=MONDAY_10AM - dt.timedelta(hours=1),
                patient_id="P5",
            )
        )
    made = build_recall_plan(store, load_practice(), MONDAY_10AM)
    assert [(d.patient_id, d.step, d.stage, d.channel) for d in made.due] == [("P1", 1, "before", "sms")]
    assert made.due[0].due_on == dt.date(2026, 12, 14) and made.due[0].source == "visits"
    assert made.plan.left_out == {
        LEFT_OUT["booked"]: 1,
        LEFT_OUT["visited"]: 1,
        LEFT_OUT["opted_out"]: 1,
        LEFT_OUT["responded"]: 1,
        LEFT_OUT["no_consent"]: 1,
        LEFT_OUT["overdue"]: 1,
        LEFT_OUT["no_phone"]: 1,
    }
    (contact,) = made.plan.contacts
    assert (contact.purpose, contact.tier, contact.step) == ("exempt", "recall", 1)


# -- a recall run end to end ---------------------------------------------------------------------------------
def test_a_recall_run_reminds_the_due_patients_through_the_workers_and_the_sequence_moves_on(world, store):
    """Texts before, on and after the due date and a one-minute automated call, once each, keyed
    `<campaign>:<patient>:<step>`; a second run the same day adds nothing; two weeks later the next step goes
    to the patient still due, not to the one who booked, and not past the last step."""
    recall_patient(store, "P1", dt.date(2026, 6, 14), **ALL)  # due 14 Dec: the text before
    recall_patient(store, "P2", dt.date(2026, 5, 30), **ALL)  # due today
    recall_patient(store, "P3", dt.date(2026, 1, 10), pms_due=dt.date(2026, 11, 16), **ALL)  # the PMS's date
    recall_patient(store, "P4", pms_due=dt.date(2026, 11, 16), consent_sms=True)  # no voice consent: a text
    w = world(callees={phone_of("P3"): Callee("machine")})
    made, started = start_recall(w)
    assert {(d.patient_id, d.step, d.channel) for d in made.due} == {
        ("P1", 1, "sms"),
        ("P2", 2, "sms"),
        ("P3", 3, "ai_call"),
        ("P4", 3, "sms"),
    }
    assert started.enqueued == 4 and started.holdout == 0
    work(w)
    cid = started.campaign_id
    got = attempts(store)
    assert {pid: (a.id, a.status, a.tier, a.purpose) for pid, a in got.items()} == {
        "P1": (f"{cid}:P1:1", "sent", "recall", "exempt"),
        "P2": (f"{cid}:P2:2", "sent", "recall", "exempt"),
        "P3": (f"{cid}:P3:3", "sent", "recall", "exempt"),
        "P4": (f"{cid}:P4:3", "sent", "recall", "exempt"),
    }
    with store.sessions() as s:
        campaign = s.get(Campaign, cid)
        assert (campaign.kind, campaign.purpose) == ("recall", "exempt")
    assert texts_to(w, "P1") == [
        f"{HEAD} Hi Pat, your check-up is due soon. Call us to schedule. Reply STOP to opt out."
    ]
    assert texts_to(w, "P2") == [
        f"{HEAD} Hi Pat, your check-up is due now. Call us to schedule. Reply STOP to opt out."
    ]
    assert texts_to(w, "P4") == [
        f"{HEAD} Hi Pat, your check-up is overdue. Call us to schedule. Reply STOP to opt out."
    ]
    call = w.twilio.calls[got["P3"].provider_id]
    assert call.time_limit == 60  # the exemption's minute
    voicemail = " ".join(call.transcript)
    assert voicemail.startswith(
        f"receptionist: Hello, this is an automated message from {PRACTICE}, at (202) 555-0100."
    )
    assert "check-up is due" in voicemail and "love to see you" not in voicemail
    status = w.services.campaigns.status(cid)
    assert (status["kind"], status["purpose"]) == ("recall", "exempt")

    # the same day again: nothing new to make
    assert build_recall_plan(store, w.services.practice, w.clock[0]).due == ()
    with pytest.raises(CampaignError):
        start_recall(w)

    # two weeks later: P1 is due today (step 2); P2 booked meanwhile; P3 and P4 had the last step
    w.clock[0] = MONDAY_10AM + dt.timedelta(days=14)
    with store.session() as s:
        s.add(
            Appointment(
                patient_id="P2",
                location_id="main",
                provider="Hygienist Patel",
                start=w.clock[0] + dt.timedelta(days=3),
                minutes=60,
                status="booked",
            )
        )
    made, second = start_recall(w)
    assert [(d.patient_id, d.step) for d in made.due] == [("P1", 2)]
    assert made.plan.left_out == {LEFT_OUT["booked"]: 1, LEFT_OUT["finished"]: 2}
    work(w)
    assert texts_to(w, "P1")[-1].startswith(f"{HEAD} Hi Pat, your check-up is due now.")
    with store.sessions() as s:
        assert s.get(OutreachAttempt, f"{second.campaign_id}:P1:2").status == "sent"
    assert len(w.twilio.messages) == 4 and len(w.twilio.calls) == 1


def test_a_reminder_stops_at_send_time_when_the_patient_books_opts_out_or_dies_after_the_run(world, store):
    """Between the run and the worker: a booking, an opt-out and a recorded death each end the reminder
    as skipped, and nothing is sent."""
    for pid in ("P1", "P2", "P3"):
        recall_patient(store, pid, dt.date(2026, 6, 14), **ALL)
    w = world()
    start_recall(w)
    with store.session() as s:
        s.add(
            Appointment(
                patient_id="P1",
                location_id="main",
                provider="Hygienist Patel",
                start=MONDAY_10AM + dt.timedelta(days=2),
                minutes=60,
                status="booked",
            )
        )
        s.get(Patient, "P2").opted_out = True
        s.get(Patient, "P3").status = "deceased"
    work(w)
    got = attempts(store)
    assert {pid: (a.status, a.reason) for pid, a in got.items()} == {
        "P1": ("skipped", LEFT_OUT["booked"]),
        "P2": ("skipped", "opted out"),
        "P3": ("skipped", "deceased"),
    }
    assert not w.twilio.messages


def test_the_exemptions_caps_count_every_campaigns_contacts_at_send_time(world, store):
    """A patient texted by a reactivation campaign today, or three times this week, is held back (deferred,
    not dropped), even though this practice allows more contacts than the exemption does."""
    recall_patient(store, "P1", dt.date(2026, 6, 14), **ALL)
    recall_patient(store, "P2", dt.date(2026, 6, 14), **ALL)
    recall_patient(store, "P3", dt.date(2026, 6, 14), **ALL)
    sent = {"P1": [dt.timedelta(hours=2)], "P2": [dt.timedelta(days=d) for d in (2, 4, 6)]}
    with store.session() as s:
        s.add(
            Campaign(id="EARLIER", run_id="R1", status="done", created_at=MONDAY_10AM - dt.timedelta(days=7))
        )
        for pid, agos in sent.items():
            for i, ago in enumerate(agos):
                s.add(
                    OutreachAttempt(
                        id=f"EARLIER:{pid}:{i}",
                        campaign_id="EARLIER",
                        patient_id=pid,
                        tier="mid",
                        channel="sms",
                        rank=i,
                        status="sent",
                        sent_at=MONDAY_10AM - ago,
                    )
                )
    w = world(max_attempts_per_day=5, max_attempts_per_week=10)
    start_recall(w)
    work(w)
    got = {pid: a for pid, a in attempts(store).items() if not a.id.startswith("EARLIER")}
    assert (got["P1"].status, got["P1"].reason) == ("deferred", "daily attempt limit reached")
    assert (got["P2"].status, got["P2"].reason) == ("deferred", "weekly attempt limit reached")
    assert got["P3"].status == "sent"
    assert texts_to(w, "P1") == texts_to(w, "P2") == [] and len(texts_to(w, "P3")) == 1


def test_recall_is_counted_apart_from_reactivation(world, store):
    """A recall text and a reactivation text of the same month: the statistics show the reactivation row
    per tier and the recall row on its own, and the reactivation plan learns nothing from recall."""
    # P1: lapsed, no recall due (reactivation's); P2: due (recall's)
    add_patient(store, "P1", 90, consent_sms=True, consent_written=True)
    recall_patient(store, "P2", dt.date(2026, 6, 14), consent_sms=True)
    w = world()
    start_recall(w)
    start(w)  # the reactivation plan leaves P2 out: already being contacted
    work(w)
    got = attempts(store)
    assert (got["P1"].tier, got["P2"].tier) == ("mid", "recall")
    report = build_report(store_counts(store), w.services.practice.outreach)
    assert [(r.tier, r.channel, r.attempts) for r in report.totals] == [("mid", "sms", 1)]
    assert [(r.month, r.tier, r.channel, r.attempts) for r in report.recall] == [
        ("all", "recall", "sms", 1),
        ("2026-11", "recall", "sms", 1),
    ]
    assert all(x.tier != "recall" for x in report.lift)
    assert report.as_json()["recall"][0]["attempts"] == 1
    text = render(report)
    assert "recall reminders (healthcare messages, counted apart from reactivation above)" in text
    from receptionist.outcomes.learning import load_beliefs

    assert "recall" not in load_beliefs(store, w.services.practice.outreach).by_tier


def test_the_campaigns_page_shows_the_recall_run_as_such(world, store):
    """The Campaigns page keeps the latest reactivation campaign in its place and shows the recall run
    apart: its kind, purpose and counts."""
    recall_patient(store, "P1", dt.date(2026, 6, 14), **ALL)
    w = world()
    _, started = start_recall(w)
    client = sign_in(w.app.test_client(), store)
    html = client.get("/campaigns").get_data(as_text=True)
    assert 'id="no-campaign"' in html  # no reactivation campaign yet
    assert f"Recall campaign <b>{started.campaign_id}</b> (recall, exempt" in html
    assert 'id="recall-progress"' in html and "<td>queued</td><td>1</td>" in html


# -- the commands ---------------------------------------------------------------------------------------------
def test_recall_plan_and_run_commands(run, store):
    """`recall plan --json` lists who is due (ids, due dates, steps; no names or numbers) and `recall run`
    starts the recall campaign; a second run the same day has nothing to do."""
    zone = ZoneInfo("America/New_York")
    today = dt.datetime.now(zone).date()  # the command runs on the real clock (faked a year ahead in CI)
    recall_patient(store, "P1", pms_due=today + dt.timedelta(days=3), **ALL)  # the first reminder is due
    plan = run("recall", "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    body = json.loads(plan.stdout)
    assert body["reminders"] == 1 and body["due"][0]["patient_id"] == "P1" and body["due"][0]["step"] == 1
    assert "Pat1" not in plan.stdout and phone_of("P1") not in plan.stdout
    first = run("recall", "run", "--json")
    assert first.returncode == 0, first.stderr
    started = json.loads(first.stdout)
    assert started["reminders"] == 1 and started["enqueued"] == 1
    with store.sessions() as s:
        ids = s.scalars(select(OutreachAttempt.id)).all()
    assert ids == [f"{started['campaign_id']}:P1:1"]
    again = run("recall", "run")
    assert again.returncode == 0 and "no recall reminders are due today" in again.stdout
    assert step_of(ids[0]) == 1


def test_the_patients_file_carries_the_pms_recall_due_date(store, tmp_path):
    """The optional `recall_due` column sets the due date; a file without it keeps the known one; a bad date
    is a bad row, reported with its field."""
    from receptionist.patients.importer import import_patients

    head = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out"
    first = tmp_path / "first.csv"
    first.write_text(f"{head},recall_due\nA1,Ana,Rivera,2025550101,,20001,yes,yes,no,2027-01-15\n")
    assert import_patients(store, first, today=TODAY, progress=False).imported
    again = tmp_path / "again.csv"
    again.write_text(f"{head}\nA1,Ana,Rivera,2025550101,,20002,yes,yes,no\n")
    assert import_patients(store, again, today=TODAY, progress=False).imported
    with store.sessions() as s:
        assert s.get(Patient, "A1").recall_due_on == dt.date(2027, 1, 15)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{head},recall_due\nA1,Ana,Rivera,2025550101,,20001,yes,yes,no,15/01/2027\n")
    report = import_patients(store, bad, today=TODAY, progress=False)
    assert not report.imported and [e.field for e in report.invalid] == ["recall_due"]


def test_the_worker_starts_the_days_recall_once_at_run_at(services, redis_client):
    """With `[recall] run_at`, the first worker tick at or after that local time enqueues the day's run, once
    a day whichever worker comes first; without it, only the command starts recall."""
    from rq import Queue

    from receptionist import jobqueue
    from receptionist.runtime.worker import daily_recall_once

    zone = ZoneInfo(services.practice.timezone)
    assert daily_recall_once(services) is False  # the demo practice leaves run_at unset
    rules = dataclasses.replace(services.practice.recall, run_at=dt.time(8, 30))
    services.practice = dataclasses.replace(services.practice, recall=rules)
    services.now = lambda: dt.datetime(2026, 12, 1, 8, 29, tzinfo=zone)
    assert daily_recall_once(services) is False
    services.now = lambda: dt.datetime(2026, 12, 1, 8, 31, tzinfo=zone)
    assert daily_recall_once(services) is True
    assert daily_recall_once(services) is False  # once a day
    queued = Queue("default", connection=services.queue_redis).jobs
    assert [j.func_name for j in queued] == [jobqueue.RECALL]
    services.now = lambda: dt.datetime(2026, 12, 2, 9, 0, tzinfo=zone)
    assert daily_recall_once(services) is True
