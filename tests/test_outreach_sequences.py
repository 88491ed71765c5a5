"""Reactivation sequences: steps on the right days, every stop reason, refused channels moving on, idempotent
step keys under doubled jobs, offers needing written consent, status and statistics by step."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from receptionist import jobqueue
from receptionist.config.sequences import DEFAULT_SEQUENCES, Sequence, Sequences, Step, parse_sequences
from receptionist.outcomes.events import Event
from receptionist.outcomes.learning import LEARN_AFTER, sequence_beliefs_from
from receptionist.outcomes.steps import step_report
from receptionist.outreach.dispatch import Contact, channel_consent, job_options
from receptionist.outreach.planner import PlannedContact
from receptionist.outreach.sequencer import Sequencer, choose, plans_of
from receptionist.outreach.sequences import (
    Last,
    Reach,
    StopFacts,
    lawful,
    next_step,
    stop_reason,
)
from receptionist.store import OutreachAttempt, Patient, VisitLine
from receptionist.store.schedule import Appointment
from receptionist.telephony.params import CallParams
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, start, work

DAY = dt.timedelta(days=1)
HIGH = DEFAULT_SEQUENCES[0]  # staff call, AI call +3, text +7, email +7
REACH = Reach(True, "p@example.org", True, True, True, {}, True)


def _fail(where: str, why: str) -> Exception:
    return ValueError(f"{where}: {why}")


# -- the practice file -------------------------------------------------------------------------------------------
def test_default_sequences_follow_the_seed():
    """Without [[outreach.sequences]]: high staff call, AI call 3 days later, text 7 days later, email; mid email,
    text, AI call; low the general campaign."""
    seqs = parse_sequences({}, _fail)
    assert seqs.enabled
    assert [(s.channel, s.days) for s in seqs.for_tier("high")[0].steps] == [
        ("staff_call", 0),
        ("ai_call", 3),
        ("sms", 7),
        ("email", 7),
    ]
    assert [s.channel for s in seqs.for_tier("mid")[0].steps] == ["email", "sms", "ai_call"]
    assert [s.channel for s in seqs.for_tier("low")[0].steps] == ["general"]
    assert parse_sequences({"sequences": False}, _fail).for_tier("high") == ()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"sequences": [{"name": "a", "tier": "top", "steps": [{"channel": "sms"}]}]}, "tier"),
        ({"sequences": [{"name": "a", "tier": "high", "steps": [{"channel": "fax"}]}]}, "channel"),
        ({"sequences": [{"name": "a", "tier": "high", "steps": [{"channel": "sms", "days": -1}]}]}, "days"),
        (
            {"sequences": [{"name": "a", "tier": "high", "steps": [{"channel": "sms", "offer": "x"}]}]},
            "offer",
        ),
        ({"sequences": [{"name": "a", "tier": "high", "steps": []}]}, "steps"),
    ],
)
def test_bad_sequences_name_the_field(raw, field):
    """A wrong sequence in the practice file is refused with the field it is about."""
    with pytest.raises(ValueError, match=field):
        parse_sequences(raw, _fail)


# -- the pure decisions ------------------------------------------------------------------------------------------
T0 = MONDAY_10AM


@pytest.mark.parametrize(
    ("last", "reach", "expected"),
    [
        # a staff call nobody made: the AI call is due 3 days after it was listed, and takes over
        (Last(0, "staff_call", "listed", None, None, None), REACH, (1, "ai_call", T0 + 3 * DAY, True)),
        # staff recorded an outcome on day 1: 3 days after that
        (
            Last(0, "staff_call", "sent", T0 + DAY, T0 + DAY, None, "reached", T0 + DAY),
            REACH,
            (1, "ai_call", T0 + 4 * DAY, False),
        ),
        # an AI call counts from its final status
        (
            Last(1, "ai_call", "sent", T0, T0 + dt.timedelta(minutes=3), None),
            REACH,
            (2, "sms", T0 + dt.timedelta(minutes=3) + 7 * DAY, False),
        ),
        # a text no patient may get (no consent): passed over, the email 7 + 7 days after the call
        (
            Last(1, "ai_call", "sent", T0, T0, None),
            dataclasses.replace(REACH, consent_sms=False),
            (3, "email", T0 + 14 * DAY, False),
        ),
        # a step refused at send time (skipped): the next one at once
        (Last(1, "ai_call", "skipped", None, T0 + DAY, T0), REACH, (2, "sms", T0 + DAY, False)),
        # not settled yet
        (Last(1, "ai_call", "queued", None, None, None), REACH, None),
        (Last(1, "ai_call", "sent", T0, None, None), REACH, None),
        # the last step
        (Last(3, "email", "sent", T0, T0, None), REACH, None),
        # a stop already written
        (Last(2, "sms", "skipped", None, T0, T0, reason="sequence stopped: booked"), REACH, None),
    ],
)
def test_next_step_table(last, reach, expected):
    """Which step comes next and when: days after the step before went out, refused channels passed over."""
    n = next_step(HIGH, last, reach, "marketing", T0)
    if expected is None:
        assert n is None
    else:
        assert n is not None
        assert (n.step, n.channel, n.due, n.replaces_unworked) == expected


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (StopFacts(), None),
        (StopFacts(opted_out=True), "opted out"),
        (StopFacts(inactive=True), "no longer an active patient"),
        (StopFacts(responded="callback"), "responded (callback)"),
        (StopFacts(booked=True), "booked"),
        (StopFacts(booking_attempt=True), "trying to book online"),
        (StopFacts(visited=True), "visited"),
    ],
)
def test_stop_reason_table(facts, reason):
    """Every stop reason ends the sequence, and nothing else does."""
    assert stop_reason(facts) == reason


def test_offer_needs_written_consent():
    """A step carrying an offer is marketing: without prior express written consent no channel may carry it,
    not even email or a staff call; the same step without the offer may."""
    unwritten = dataclasses.replace(REACH, consent_written=False)
    for channel in ("email", "staff_call"):
        assert lawful(channel, unwritten, "marketing")
        assert not lawful(channel, unwritten, "marketing", offer="whitening")
    contact = Contact(
        "C:P1:3",
        "C",
        "P1",
        "email",
        "high",
        "queued",
        "running",
        "Pat",
        "+12025550101",
        "p@example.org",
        "20001",
        True,
        True,
        False,
        False,
        {},
        offer="whitening",
    )
    ok, why = channel_consent("email", contact, email_on=True)
    assert not ok and "written consent" in why
    assert channel_consent("email", dataclasses.replace(contact, offer=""), email_on=True)[0]


def test_learning_chooses_among_sequences_with_evidence():
    """With several sequences in a tier: the first until the log has evidence, then mostly the one that
    responds better (Thompson sampling), still exploring the other."""
    a = Sequence("a", "high", (Step("ai_call"), Step("sms", 3)))
    b = Sequence("b", "high", (Step("ai_call"), Step("email", 2)))
    from receptionist.config.practice import load_practice

    p = dataclasses.replace(load_practice(), sequences=Sequences(True, (a, b), {}))
    contacts = [PlannedContact(f"P{i}", "high", "ai_call", 500.0, 0.0, "", ()) for i in range(200)]
    plans = plans_of(p)
    none = sequence_beliefs_from({}, {}, p.outreach, plans)
    assert {s.name for s, _ in choose(contacts, p, none, 1) if s} == {"a"}
    seen = sequence_beliefs_from(
        {("high", "a"): 200, ("high", "b"): 200}, {("high", "a"): 10, ("high", "b"): 120}, p.outreach, plans
    )
    assert seen.learning("high") and 200 >= LEARN_AFTER
    picked = [s.name for s, step in choose(contacts, p, seen, 1) if s]
    assert picked.count("b") > 150 and picked.count("a") >= 1
    assert {step for _, step in choose(contacts, p, seen, 1)} == {0}


# -- the whole path: campaign, dispatcher, sequencer -------------------------------------------------------------
def rows(store, pid: str) -> dict[int, OutreachAttempt]:
    with store.sessions() as s:
        return {
            a.step: a for a in s.scalars(select(OutreachAttempt).where(OutreachAttempt.patient_id == pid))
        }


def end_call(w, aid: str) -> None:
    with w.services.store.sessions() as s:
        sid = s.get(OutreachAttempt, aid).provider_id
    w.services.outreach.settle_call(
        aid, CallParams(call_sid=sid, direction="outbound-api", call_status="completed", call_duration=40)
    )


def at_day(w, n: int, hours: int = 0) -> None:
    w.clock[0] = MONDAY_10AM + n * DAY + dt.timedelta(hours=hours)


def high_patient(store, pid: str = "P1", **kw) -> None:
    add_patient(store, pid, 90, tier="high", email=f"{pid.lower()}@example.org", **{**ALL, **kw})


def test_steps_advance_on_the_right_days(world, store):
    """High tier: the staff call is listed on day 0; unworked, the AI call takes over on day 3 (the call leaves
    the staff list); the text follows 7 days after the call ended; with email off the sequence ends there."""
    high_patient(store)
    w = world(play=False, staff_call_list_size=1)
    cid = start(w).campaign_id
    first = rows(store, "P1")
    assert first[0].id == f"{cid}:P1:0" and first[0].channel == "staff_call" and first[0].status == "listed"
    seq = w.services.sequences
    at_day(w, 2, hours=23)
    assert seq.advance()["created"] == 0
    at_day(w, 3)
    assert seq.advance()["created"] == 1
    r = rows(store, "P1")
    assert r[0].status == "skipped" and r[0].reason == "not called within the sequence's days"
    assert r[1].id == f"{cid}:P1:1" and r[1].channel == "ai_call" and r[1].status == "queued"
    assert w.services.outreach.send(r[1].id) == "sent"
    at_day(w, 3, hours=1)
    end_call(w, r[1].id)
    at_day(w, 10)
    assert seq.advance()["created"] == 0  # 7 days after the call ended (day 10, 11:00) is not yet
    at_day(w, 10, hours=1)
    assert seq.advance()["created"] == 1
    r = rows(store, "P1")
    assert r[2].channel == "sms" and r[2].status == "queued" and r[2].sequence == "high-touch"
    assert w.services.outreach.send(r[2].id) == "sent"
    at_day(w, 30)
    assert seq.advance() == {
        "due": 0,
        "created": 0,
        "enqueued": 0,
        "stopped": 0,
        "in_progress": 0,
        "requeued": 0,
    }
    assert sorted(rows(store, "P1")) == [0, 1, 2]  # email off: no step 3
    assert len(w.twilio.calls) == 1 and len(w.twilio.messages) == 1


def _book(w, store, pid):
    with store.session() as s:
        s.add(
            Appointment(
                patient_id=pid,
                location_id="main",
                provider="the dentist",
                start=MONDAY_10AM + 20 * DAY,
                kind="cleaning",
                status="booked",
            )
        )


def _online(w, store, pid):
    with store.session() as s:
        s.get(Patient, pid).booking_attempt_at = w.clock[0]


def _opt_out(w, store, pid):
    with store.session() as s:
        s.get(Patient, pid).opted_out = True


def _visit(w, store, pid):
    with store.session() as s:
        s.add(
            VisitLine(
                line_key=f"{pid}-back",
                patient_id=pid,
                day=(MONDAY_10AM + 2 * DAY).date(),
                amount_cents=9000,
                paid_cents=9000,
                department="hygiene",
            )
        )


def _respond(w, store, pid):
    w.services.outcomes.booked_online(pid, "online:1", w.clock[0])


def _deceased(w, store, pid):
    with store.session() as s:
        s.get(Patient, pid).status = "deceased"


@pytest.mark.parametrize(
    ("act", "why"),
    [
        (_respond, "responded (booked)"),
        (_book, "booked"),
        (_online, "trying to book online"),
        (_opt_out, "opted out"),
        (_visit, "visited"),
        (_deceased, "no longer an active patient"),
    ],
)
def test_sequence_stops_on_each_reason(world, store, act, why):
    """After the AI call, a response, a booking, an online-booking attempt, an opt-out, a visit or a death stops
    the sequence: the text is never created as a send, its row says why, and nothing more goes out."""
    high_patient(store)
    w = world(play=False)  # no staff list: the plan gives an AI call, the sequence's step 1
    start(w)
    r = rows(store, "P1")
    assert list(r) == [1] and r[1].channel == "ai_call"
    assert w.services.outreach.send(r[1].id) == "sent"
    end_call(w, r[1].id)
    at_day(w, 2)
    act(w, store, "P1")
    at_day(w, 8)
    counts = w.services.sequences.advance()
    assert counts["stopped"] == 1 and counts["enqueued"] == 0
    r = rows(store, "P1")
    assert r[2].status == "skipped" and r[2].reason == f"sequence stopped: {why}"
    at_day(w, 30)
    assert w.services.sequences.advance()["due"] == 0
    assert len(w.twilio.messages) == 0 and len(w.twilio.calls) == 1


def test_a_queued_step_stops_at_send_time(world, store):
    """A step already queued when the patient books is skipped by the worker, not sent."""
    high_patient(store)
    w = world(play=False)
    start(w)
    aid = rows(store, "P1")[1].id
    w.services.outreach.send(aid)
    end_call(w, aid)
    at_day(w, 8)
    w.services.sequences.advance()
    text = rows(store, "P1")[2]
    assert text.status == "queued"
    _respond(w, store, "P1")
    assert w.services.outreach.send(text.id) == "skipped: sequence stopped: responded (booked)"
    assert len(w.twilio.messages) == 0


def test_refused_channel_moves_on(world, store):
    """The AI call refused for good at send time (the patient asked not to be called): the sequence goes on at
    once with the text, the next lawful step, instead of ending."""
    high_patient(store)
    w = world(play=False)
    start(w)
    aid = rows(store, "P1")[1].id
    with store.session() as s:
        s.get(Patient, "P1").contact_preferences = {"call": False}
    assert w.services.outreach.send(aid).startswith("skipped: patient asked not to be contacted by ai call")
    assert w.services.sequences.advance()["created"] == 1
    text = rows(store, "P1")[2]
    assert text.channel == "sms" and text.status == "queued"
    assert w.services.outreach.send(text.id) == "sent"
    assert len(w.twilio.calls) == 0 and len(w.twilio.messages) == 1


def test_passed_over_channel_and_offer_step(world, store):
    """No consent to texts: after the call the text step is passed over and the email (the demo's whitening
    offer) comes 14 days after the call; without written consent the offer step is passed over too."""
    high_patient(store, consent_sms=False)
    high_patient(store, "P2", consent_sms=False)
    w = world(play=False)
    start(w)
    seq = Sequencer(
        store=store, practice=w.services.practice, now=lambda: w.clock[0], jobs=w.services.jobs, email_on=True
    )
    for pid in ("P1", "P2"):
        aid = rows(store, pid)[1].id
        assert w.services.outreach.send(aid) == "sent"
        end_call(w, aid)
    with store.session() as s:  # P2 withdraws the written consent after the call: no offer for them
        s.get(Patient, "P2").consent_written = False
    at_day(w, 13, hours=23)
    assert seq.advance()["created"] == 0
    at_day(w, 14, hours=1)
    assert seq.advance()["created"] == 1
    email = rows(store, "P1")[3]
    assert email.channel == "email" and email.offer == "whitening" and email.purpose == "marketing"
    assert 2 not in rows(store, "P1") and set(rows(store, "P2")) == {1}


def test_idempotent_step_keys_under_doubled_jobs(world, store, redis_client):
    """Two advance runs write each step once; a doubled send job (two RQ jobs for one step) sends once; a
    worker killed mid-send is reconciled back into the queue with the same step key."""
    high_patient(store)
    w = world(play=False)
    cid = start(w).campaign_id
    aid = f"{cid}:P1:1"
    jobs = w.services.jobs
    jobs.enqueue(jobqueue.SEND_ATTEMPT, aid, queue="outreach", **job_options())  # the doubled job
    work(w)
    assert len(w.twilio.calls) == 1 and rows(store, "P1")[1].status == "sent"
    end_call(w, aid)
    at_day(w, 8)
    first = w.services.sequences.advance()
    second = w.services.sequences.advance()
    assert first["created"] == 1 and second["created"] == 0 and second["due"] == 0
    with store.sessions() as s:
        n = s.scalar(
            select(func.count()).select_from(OutreachAttempt).where(OutreachAttempt.id == f"{cid}:P1:2")
        )
    assert n == 1
    # the worker claims the text and dies before it goes out: reconcile puts it back, same key, once
    text = f"{cid}:P1:2"
    assert w.services.outreach.transition(text, ("queued",), status="sending", claimed_at=w.clock[0])
    at_day(w, 8, hours=1)
    assert w.services.outreach.reconcile()["requeued"] == 1
    jobs.enqueue(jobqueue.SEND_ATTEMPT, text, queue="outreach", **job_options())  # doubled again
    work(w)
    assert len(w.twilio.messages) == 1 and rows(store, "P1")[2].status == "sent"


def test_old_rows_without_a_step_are_step_zero(store):
    """A row written before sequences (id `<campaign>:<patient>`) reads as step 0 of no sequence."""
    add_patient(store, "P9", 10, **ALL)
    with store.session() as s:
        s.add(
            OutreachAttempt(
                id="OLD:P9",
                campaign_id="OLD",
                patient_id="P9",
                tier="mid",
                channel="sms",
                rank=1,
                status="sent",
            )
        )
    with store.sessions() as s:
        a = s.get(OutreachAttempt, "OLD:P9")
        assert a.step == 0 and a.sequence is None


def test_status_shows_step_next_step_and_due(world, store):
    """Per patient: the current step, the next one and when it is due, in the location's zone in words; a
    stopped sequence says why."""
    high_patient(store)
    high_patient(store, "P2")
    w = world(play=False, staff_call_list_size=2)
    cid = start(w).campaign_id
    _respond(w, store, "P2")
    got = {p["patient_id"]: p for p in w.services.sequences.progress(cid)["patients"]}
    p1 = got["P1"]
    assert (p1["step"], p1["channel"], p1["status"]) == (0, "staff_call", "listed")
    assert (p1["next_step"], p1["next_channel"]) == (1, "ai_call")
    assert p1["due"] == (MONDAY_10AM + 3 * DAY).isoformat()
    assert p1["due_local"] == "Thu Dec 3, 10:00 AM EST"
    assert got["P2"]["stopped"] == "responded (booked)" and got["P2"]["next_step"] is None
    assert w.services.sequences.progress(cid)["by_step"] == {"1. staff call": 2}


def test_stats_by_step_and_sequence(world, store):
    """Response by step and tier, and cost per reactivation by sequence, from the outcome log."""
    high_patient(store)
    high_patient(store, "P2")
    w = world(play=False)
    cid = start(w).campaign_id
    for pid in ("P1", "P2"):
        aid = rows(store, pid)[1].id
        w.services.outreach.send(aid)
        end_call(w, aid)
    at_day(w, 8)
    w.services.sequences.advance()
    text = f"{cid}:P1:2"
    assert w.services.outreach.send(text) == "sent"
    w.services.outcomes.log.record(
        [
            Event(f"responded:{text}", "responded", "high", "sms", "2026-12", w.clock[0], 0, "P1", text, cid),
            Event(
                f"reactivated:{text}", "reactivated", "high", "sms", "2026-12", w.clock[0], 0, "P1", text, cid
            ),
        ]
    )
    report = step_report(store)
    steps = {(r["step"], r["channel"]): r for r in report["steps"] if r["sequence"] == "high-touch"}
    assert steps[(1, "ai_call")]["sent"] == 2 and steps[(1, "ai_call")]["responded"] == 0
    assert steps[(2, "sms")]["sent"] == 1 and steps[(2, "sms")]["responded"] == 1
    seq = next(r for r in report["sequences"] if r["sequence"] == "high-touch")
    costs = w.services.practice.outreach.costs
    assert seq["patients"] == 2 and seq["contacts"] == 3 and seq["responded"] == 1 and seq["reactivated"] == 1
    assert seq["cost"] == pytest.approx(2 * costs["ai_call"] + costs["sms"] + 2 * 0.12, abs=0.01)
    assert seq["cost_per_reactivation"] == seq["cost"]


def test_simulate_days_stops_each_patient_at_the_first_response(world, store):
    """`campaign simulate --days`: a line per day of what went out; nobody gets a step after their response."""
    for i in range(12):
        add_patient(
            store, f"P{i + 1}", 100 - i, tier=("high", "mid")[i % 2], email=f"p{i}@example.org", **ALL
        )
    w = world(play=False, staff_call_list_size=3)
    from receptionist.simulation.sequence_days import simulate_days

    lines: list[str] = []
    ran = simulate_days(w.services, days=16, seed=5, echo=lines.append)
    assert len(lines) == 17 and lines[1].startswith("day 1 (")
    assert sum(ran["sent"].values()) > 12  # more than one step a patient went out
    with store.sessions() as s:
        sent = s.execute(
            select(OutreachAttempt.patient_id, OutreachAttempt.sent_at).where(
                OutreachAttempt.sent_at.is_not(None)
            )
        ).all()
        from receptionist.store import OutcomeEvent

        first_response = dict(
            s.execute(
                select(OutcomeEvent.patient_id, func.min(OutcomeEvent.at))
                .where(OutcomeEvent.kind == "responded")
                .group_by(OutcomeEvent.patient_id)
            ).all()
        )
    for pid, at in sent:
        if pid in first_response:
            assert at <= first_response[pid], pid
    assert ran["stopped"] == len(first_response)


def test_advance_job_runs_by_name_and_reschedules(world, store, redis_client):
    """The periodic job writes the due steps and schedules itself again while a sequence is in progress; the
    name jobs are enqueued by is the job's."""
    from receptionist import jobs
    from receptionist.store import keys

    high_patient(store)
    w = world(play=False)
    start(w)
    aid = rows(store, "P1")[1].id
    w.services.outreach.send(aid)
    end_call(w, aid)
    at_day(w, 8)
    jobs.bind(w.services)
    redis_client.delete(keys.sequences_advance_marker())
    assert jobqueue.ADVANCE_SEQUENCES == f"{jobs.__name__}.{jobs.advance_sequences_job.__name__}"
    counts = jobs.advance_sequences_job()
    assert counts["created"] == 1 and counts["in_progress"] == 1
    assert redis_client.exists(keys.sequences_advance_marker())


def test_status_cli_and_campaigns_page_show_the_steps(world, store, run):
    """`campaign status --json` lists each patient's step, next step and when it is due; the text output and
    the dashboard's Campaigns page say the same in words; Results shows the step tables."""
    import json

    from receptionist.web import create_app
    from tests.dashboard_helpers import sign_in

    high_patient(store)
    w = world(play=False, staff_call_list_size=1)  # no hold-out: P1 is in the campaign
    cid = start(w).campaign_id
    done = run("campaign", "status", "--json")
    assert done.returncode == 0, done.stderr
    (p,) = json.loads(done.stdout)["sequences"]["patients"]
    assert (p["patient_id"], p["step"], p["channel"], p["next_step"], p["next_channel"]) == (
        "P1",
        0,
        "staff_call",
        1,
        "ai_call",
    )
    assert p["due"] == (MONDAY_10AM + 3 * DAY).isoformat() and p["due_local"].endswith(("EST", "EDT"))
    text = run("campaign", "status").stdout
    assert "P1 [high, high-touch] step 1 of 4 (staff call, listed); next: step 2 (ai call)" in text
    client = sign_in(create_app(services=w.services).test_client(), store)
    html = client.get("/campaigns").get_data(as_text=True)
    assert 'id="sequences"' in html and "high-touch" in html and "Thu Dec 3, 10:00 AM EST" in html
    w.services.campaigns.record_outcome(f"{cid}:P1:0", "reached")
    results = client.get("/results").get_data(as_text=True)
    assert 'id="table-steps"' in results and 'id="table-sequences"' in results


def test_entry_step_with_an_offer_needs_written_consent():
    """A high-tier patient the plan gives an email enters the demo's sequence at its offer step only with
    written consent; without it they keep the plan's one (offer-free) email, as before sequences."""
    from receptionist.config.practice import load_practice

    p = load_practice()
    contacts = [PlannedContact(pid, "high", "email", 100.0, 0.0, "", ()) for pid in ("P1", "P2")]
    (s1, step1), (s2, _) = choose(contacts, p, None, 1, {"P1": True, "P2": False})
    assert s1 is not None and s1.name == "high-touch" and step1 == 3 and s1.steps[3].offer == "whitening"
    assert s2 is None


_channels = st.sampled_from(("staff_call", "ai_call", "sms", "email"))
_steps = st.lists(
    st.builds(Step, _channels, st.integers(0, 10), st.sampled_from(("", "whitening"))), min_size=2, max_size=5
)
_reach = st.builds(
    Reach,
    st.booleans(),
    st.sampled_from(("", "p@example.org")),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.fixed_dictionaries(
        {}, optional={"call": st.just(False), "text": st.just(False), "email": st.just(False)}
    ),
    st.booleans(),
)


@given(
    steps=_steps,
    reach=_reach,
    at=st.integers(0, 3),
    status=st.sampled_from(("listed", "queued", "sent", "skipped", "failed", "deferred")),
    hours=st.integers(0, 500),
)
def test_next_step_is_always_later_lawful_and_not_early(steps, reach, at, status, hours):
    """Whatever the steps, consents and state: the next step is a later one, lawful for the patient (an offer
    only with written consent), and never due before the step before it went out plus its days."""
    seq = Sequence("s", "high", tuple(steps))
    at = min(at, len(steps) - 1)
    went = T0 + dt.timedelta(hours=hours)
    last = Last(at, steps[at].channel, status, went if status == "sent" else None, went, T0)
    n = next_step(seq, last, reach, "marketing", T0)
    if n is None:
        return
    step = steps[n.step]
    assert n.step > at and n.channel == step.channel
    assert lawful(step.channel, reach, "marketing", step.offer)
    assert not step.offer or reach.consent_written
    if status == "sent":
        assert n.due >= went + dt.timedelta(days=step.days)


def test_offer_wording():
    """A step's offer is written in its text (practice first, the number, STOP) and in its email."""
    from receptionist.wording.offers import offer_email_text, offer_sms_text

    text = offer_sms_text("Demo Dental", "Pat", "+12025550100", "a free whitening kit")
    assert text.startswith("Demo Dental: Hi Pat,") and "a free whitening kit" in text
    assert "(202) 555-0100" in text and text.endswith("Reply STOP to opt out.") and len(text) <= 160
    mail = offer_email_text("Demo Dental", "Pat", "+12025550100", "Mon-Fri", "https://x/u/t", "a free kit.")
    assert (
        mail.startswith("Hi Pat,\n\nFor your next visit we have a free kit.\n\n") and "https://x/u/t" in mail
    )


def test_a_step_whose_job_was_lost_is_enqueued_again(world, store, redis_client):
    """A worker killed between writing a step and enqueueing it: an hour later the advance job enqueues it
    again, once, and it goes out once."""
    high_patient(store)
    w = world(play=False)
    cid = start(w).campaign_id
    aid = f"{cid}:P1:1"
    w.services.outreach.send(aid)
    end_call(w, aid)
    at_day(w, 8)
    w.services.sequences.advance()
    redis_client.delete("rq:queue:outreach")  # the job is gone, the row stays queued
    at_day(w, 8, hours=2)
    assert w.services.sequences.advance()["requeued"] == 1
    assert w.services.sequences.advance()["requeued"] == 0  # not again within the hour
    work(w)
    assert rows(store, "P1")[2].status == "sent" and len(w.twilio.messages) == 1


def test_migration_0015_keeps_old_rows_as_step_zero(tmp_path):
    """Upgrading a store at 0014 with an attempt in it: the row reads as step 0 of no sequence, and downgrading
    drops the columns again."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from receptionist.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)

    def to(revision: str, down: bool = False) -> None:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    to("0014")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outreach_attempts (id, campaign_id, patient_id, tier, channel, purpose, rank, "
                "reactivation_score, expected_value, status, reason, tries, cost) "
                "VALUES ('OLD:P1', 'OLD', 'P1', 'mid', 'sms', 'marketing', 1, 0, 0, 'sent', '', 1, 0)"
            )
        )
    to("0015")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT step, sequence, offer FROM outreach_attempts")).one() == (
            0,
            None,
            None,
        )
    to("0014", down=True)
    with engine.connect() as conn:
        cols = {r[1] for r in conn.execute(text("PRAGMA table_info(outreach_attempts)"))}
    assert "step" not in cols and "id" in cols
    engine.dispose()
