"""The outcome log end to end: written once under repeated and out-of-order callbacks, attribution windows at
their edges, counters rebuilt from the log equal to the live ones, stats and the dashboard route."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from receptionist.outcomes.attribution import add_months
from receptionist.outcomes.log import live_counts, rebuild, store_counts
from receptionist.outreach.planner import build_plan
from receptionist.simulation.campaign import simulate_month
from receptionist.store import Campaign, OutcomeEvent, OutreachAttempt, VisitLine
from receptionist.telephony.params import CallParams
from receptionist.web import create_app
from tests.dashboard_helpers import sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, TOKEN, add_patient, phone_of, practice, start, work


def events(store) -> dict[str, tuple]:
    with store.sessions() as s:
        return {
            e.key: (e.kind, e.tier, e.channel, e.month, e.amount_cents)
            for e in s.scalars(select(OutcomeEvent))
        }


def _signed(client, path: str, params: dict) -> int:
    url = "http://testserver" + path
    sig = RequestValidator(TOKEN).compute_signature(url, params)
    return client.post(
        path, base_url="http://testserver", data=params, headers={"X-Twilio-Signature": sig}
    ).status_code


def test_callbacks_repeated_and_out_of_order_write_once(world, store):
    """A campaign's outcomes are logged once; replaying Twilio's callbacks, late and out of order, adds nothing."""
    from receptionist.scheduling.schedule import ensure_schedule
    from receptionist.simulation.localtwilio import Callee

    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    add_patient(store, "P3", 70, consent_sms=True, consent_written=True)
    w = world(
        callees={
            phone_of("P1"): Callee("human", ("yes please", "the first one", "yes", "no thanks")),
            phone_of("P2"): Callee("machine"),
        }
    )
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=2)
    start(w)
    work(w)
    first = events(store)
    with store.sessions() as s:
        a = {x.patient_id: x for x in s.scalars(select(OutreachAttempt))}
    month = "2026-11"
    p1, p2, p3 = (a[p].id for p in ("P1", "P2", "P3"))
    charge = round(w.services.practice.outreach.costs["ai_call"] * 100)  # placing the call; its minutes apart
    assert first[f"sent:{p1}"] == ("sent", "mid", "ai_call", month, charge)
    assert first[f"result:{p1}"][0] == "answered" and f"reached:{p1}" in first
    assert first[f"result:{p2}"][0] == "voicemail" and f"reached:{p2}" not in first
    assert first[f"result:{p3}"][0] == "delivered" and f"reached:{p3}" in first
    assert first[f"responded:{p1}"] == ("responded", "mid", "ai_call", month, 0)
    assert f"responded:{p2}" not in first and f"responded:{p3}" not in first
    booked = [k for k, v in first.items() if v[0] == "booked"]
    assert len(booked) == 1 and first[booked[0]][2] == "ai_call"  # in the bucket of the call's attempt
    live = live_counts(w.services.redis)
    assert live == store_counts(store)

    client = w.app.test_client()
    sid1, sid3 = a["P1"].provider_id, a["P3"].provider_id
    final = {
        "CallSid": sid1,
        "CallStatus": "completed",
        "Direction": "outbound-api",
        "SequenceNumber": "9",
        "CallDuration": "40",
    }
    for _ in range(3):  # Twilio retries the final callback
        assert _signed(client, f"/voice/status?attempt={p1}", final) == 204
    late = {"CallSid": sid1, "CallStatus": "ringing", "Direction": "outbound-api", "SequenceNumber": "1"}
    assert _signed(client, f"/voice/status?attempt={p1}", late) == 204  # arrives after the end
    # the voicemail's machine detection arrives after the call ended: the first final word stands
    w.services.outreach.mark_voicemail(p1, sid1)
    w.services.outreach.settle_call(p1, CallParams.parse(final))
    for _ in range(2):
        assert (
            _signed(client, f"/sms/status?attempt={p3}", {"MessageSid": sid3, "MessageStatus": "delivered"})
            == 204
        )
    w.services.outcomes.sent(p1)
    w.services.outcomes.call_ended(sid1)
    assert events(store) == first
    assert live_counts(w.services.redis) == live


def _touch(
    store,
    pid: str,
    cid: str,
    when: dt.datetime,
    *,
    held: bool = False,
    tier: str = "mid",
    channel: str = "sms",
    cost: float = 0.02,
) -> str:
    with store.session() as s:
        if s.get(Campaign, cid) is None:
            s.add(
                Campaign(id=cid, run_id="R1", status="done", holdout_share=0.1, created_at=when, summary={})
            )
            s.flush()
        aid = f"{cid}:{pid}"
        s.add(
            OutreachAttempt(
                id=aid,
                campaign_id=cid,
                patient_id=pid,
                tier=tier,
                channel=channel,
                rank=1,
                status="holdout" if held else "sent",
                sent_at=None if held else when,
                cost=0.0 if held else cost,
            )
        )
    return aid


def _visit(store, pid: str, day: dt.date, cents: int, key: str | None = None) -> None:
    with store.session() as s:
        s.add(
            VisitLine(
                line_key=key or f"{pid}:{day}:{cents}",
                patient_id=pid,
                day=day,
                amount_cents=cents,
                paid_cents=cents,
                department="hygiene",
            )
        )


CONTACT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York, Monday 2 March 2026
D = dt.date(2026, 3, 2)


@pytest.mark.parametrize(("offset", "credited"), [(0, False), (1, True), (90, True), (91, False)])
def test_attribution_window_edges(services, store, offset, credited):
    """A visit counts as a return only on the days after the contact, up to and including day 90."""
    add_patient(store, "P1", 50)
    services.practice = practice()
    aid = _touch(store, "P1", "C1", CONTACT)
    _visit(store, "P1", D + dt.timedelta(days=offset), 20000)
    services.outcomes.attribute(dt.date(2027, 12, 31))
    got = events(store)
    assert (f"reactivated:{aid}" in got) is credited
    if credited:
        assert got[f"reactivated:{aid}"] == ("reactivated", "mid", "sms", "2026-03", 0)


def test_revenue_counts_for_18_months_from_the_return_and_up_to_as_of(services, store):
    """Revenue: every visit line from the return day to the day before the same date 18 months on, to as_of."""
    add_patient(store, "P1", 50)
    services.practice = practice()
    aid = _touch(store, "P1", "C1", CONTACT)
    back = D + dt.timedelta(days=10)
    end = add_months(back, 18)
    for day, cents in ((back, 10000), (back, -2500), (end - dt.timedelta(days=1), 7000), (end, 9900)):
        _visit(store, "P1", day, cents)
    services.outcomes.attribute(end - dt.timedelta(days=2))  # the last in-window visit is still in the future
    revenue = lambda: sum(v[4] for k, v in events(store).items() if k.startswith(f"revenue:{aid}:"))  # noqa: E731
    assert revenue() == 7500
    services.outcomes.attribute(end + dt.timedelta(days=30))
    assert revenue() == 14500  # the visit on the 18-month date itself is outside
    assert add_months(dt.date(2026, 8, 31), 18) == dt.date(2028, 2, 29)


def test_last_touch_and_hold_out_measured_the_same_way(services, store):
    """Two contacts before a return: the later one gets it; a held-out patient's return counts as theirs."""
    add_patient(store, "P1", 50)
    add_patient(store, "P2", 50, tier="high")
    services.practice = practice()
    early = _touch(store, "P1", "C1", CONTACT, channel="email")
    late = _touch(store, "P1", "C2", CONTACT + dt.timedelta(days=20), channel="sms")
    held = _touch(
        store, "P2", "C2", CONTACT + dt.timedelta(days=20), held=True, tier="high", channel="staff_call"
    )
    _visit(store, "P1", D + dt.timedelta(days=30), 15000)
    _visit(store, "P2", D + dt.timedelta(days=25), 12000)
    n = services.outcomes.attribute(dt.date(2026, 12, 31))
    got = events(store)
    assert f"reactivated:{early}" not in got and got[f"reactivated:{late}"][0] == "reactivated"
    assert got[f"reactivated:{held}"] == ("holdout_reactivated", "high", "staff_call", "2026-03", 0)
    assert n == 4 and services.outcomes.attribute(dt.date(2026, 12, 31)) == 0  # again: nothing new


def _practice_for_learning(store, n: int = 60) -> None:
    for i in range(n):
        tier = ("high", "mid", "low")[i % 3]
        add_patient(store, f"P{i + 1}", 500 - i, tier=tier, email=f"p{i}@example.org", **ALL)


def test_counters_rebuilt_from_the_log_equal_the_live_ones(services, store, redis_client, run):
    """After a simulated month, the live counters equal the log's; lost and rebuilt, they are equal again."""
    _practice_for_learning(store)
    services.practice = practice(holdout_share=0.2, ai_contact_list_size=40, staff_call_list_size=5)
    services.now = lambda: MONDAY_10AM
    done = simulate_month(services, seed=3)
    assert done["contacts"] > 30 and done["held_out"] > 0
    live = live_counts(services.redis)
    assert live and live == store_counts(store)
    with store.sessions() as s:
        total = s.scalar(select(func.count()).select_from(OutcomeEvent))
    assert sum(n for n, _ in live.values()) == total
    redis_client.flushdb()
    assert live_counts(services.redis) == {}
    assert rebuild(store, services.queue_redis) == live
    assert live_counts(services.redis) == live
    redis_client.flushdb()
    r = run("stats", "rebuild")
    assert r.returncode == 0, r.stderr
    assert f"from {total:,} events" in r.stdout
    assert live_counts(services.redis) == live


def test_stats_cli_and_route_show_rates_lift_and_money_without_patient_data(services, store, run):
    """`stats --json`, the text table and GET /api/stats: rates with intervals, lift, cost per reactivation, ROI."""
    _practice_for_learning(store)
    services.practice = practice(holdout_share=0.2, ai_contact_list_size=40, staff_call_list_size=5)
    services.now = lambda: dt.datetime.now(dt.UTC)
    simulate_month(services, seed=5)
    r = run("stats", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["rows"] and body["lift"] and "P1" not in r.stdout
    row = max(body["rows"], key=lambda x: x["attempts"])
    assert row["response_rate"] == pytest.approx(row["responded"] / row["attempts"], abs=1e-4)
    lo, hi = row["response_ci"]
    assert lo <= row["response_rate"] <= hi
    for key in (
        "reactivation_rate",
        "reactivation_ci",
        "revenue",
        "cost",
        "cost_per_reactivation",
        "roi",
        "expected_response",
        "reached",
    ):
        assert key in row
    lifts = {x["tier"]: x for x in body["lift"]}
    assert sum(x["held_out"] for x in lifts.values()) > 0
    text = run("stats")
    assert text.returncode == 0 and "true lift" in text.stdout and "cost/react" in text.stdout
    client = sign_in(create_app(services=services).test_client(), services.store)  # a manager
    resp = client.get("/api/stats")
    assert resp.status_code == 200 and resp.json["source"] == "live"
    assert resp.json["rows"] == body["rows"] and "P1" not in resp.get_data(as_text=True)
    assert run("stats", "--month", "May").returncode == 1


def test_flag_in_plain_words_when_a_tier_falls_below_expectations():
    """A high tier answering 12% to staff calls, expected 25-40%, is flagged with advice."""
    from receptionist.config.practice import OutreachRules
    from receptionist.outcomes.report import build_report

    counts = {
        ("2026-11", "high", "staff_call", "sent"): (50, 30000),
        ("2026-11", "high", "staff_call", "responded"): (6, 0),
        ("2026-11", "mid", "email", "sent"): (50, 50),
        ("2026-11", "mid", "email", "responded"): (10, 0),
    }
    report = build_report(counts, OutreachRules())
    assert len(report.flags) == 1
    assert report.flags[0].startswith("high-tier staff call response 12% this month")
    assert "expected 25%-40%: consider a better offer or another channel" in report.flags[0]


def test_next_plan_learns_from_outcomes(services, store):
    """With the mid tier answering email far better than AI calls, the next plan sends most of it email."""
    from receptionist.outcomes.events import Event

    _practice_for_learning(store, 90)
    services.practice = practice(ai_contact_list_size=200, staff_call_list_size=5)
    now = MONDAY_10AM
    evs = []
    for ch, sent, resp in (("ai_call", 60, 3), ("email", 60, 18), ("sms", 20, 2)):
        for i in range(sent):
            key = f"X:{ch}:{i}"
            evs.append(Event(f"sent:{key}", "sent", "mid", ch, "2026-09", now, 1))
            if i < resp:
                evs.append(Event(f"responded:{key}", "responded", "mid", ch, "2026-09", now))
    services.outcomes.log.record(evs)
    plan = build_plan(store, services.practice, now)
    mid = plan.counts["mid"]
    assert mid["email"] >= 0.7 * sum(mid.values()) and mid["ai_call"] >= 1  # learned, still exploring
    assert plan.mix["mid"]["learning"] and "email" in plan.mix["mid"]["reason"]
    assert not plan.mix["high"]["learning"]  # nothing seen there yet: the default order
    assert plan.response_rates["mid"]["email"] > plan.response_rates["mid"]["ai_call"]
    again = build_plan(store, services.practice, now)
    assert [c.channel for c in again.contacts] == [c.channel for c in plan.contacts]  # seeded by the run
    assert dataclasses.replace(plan, mix={}).as_json()["counts"] == plan.counts
