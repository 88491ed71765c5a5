"""A simulated campaign month on the practice in the store, for trying statistics and learning (demo only).

The simulated patients answer, respond and come back with known true rates per tier and channel
(`TRUE_RESPONSE`), which the planner does not see. Nothing is sent: the attempts are written as already sent,
their outcomes go through the same outcome log as real ones, and the returns are written as visit lines
(`line_key` "sim:..."), which attribution then credits like any imported visit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select

from receptionist.clock import utc
from receptionist.config.practice import Practice
from receptionist.outcomes.events import Event, month_of
from receptionist.outcomes.record import Outcomes
from receptionist.outreach.campaigns import attempt_id, in_holdout
from receptionist.outreach.planner import build_plan
from receptionist.store import Campaign, OutreachAttempt, Store, VisitLine

# The simulated practice's truth: P(books or asks for a callback | contacted), per tier and channel.
TRUE_RESPONSE = {
    "high": {"staff_call": 0.34, "ai_call": 0.14, "sms": 0.12, "email": 0.10, "general": 0.02},
    "mid": {"staff_call": 0.25, "ai_call": 0.08, "sms": 0.11, "email": 0.24, "general": 0.02},
    "low": {"staff_call": 0.12, "ai_call": 0.04, "sms": 0.09, "email": 0.03, "general": 0.01},
}
ANSWERED = 0.6  # a call finds a person; otherwise voicemail or no answer
RETURN_IF_RESPONDED = 0.8
BASELINE_RETURN = 0.03  # anyone, contacted or not, comes back on their own within the month
DIRECT = ("staff_call", "ai_call", "sms", "email")


class SimulationContext(Protocol):
    """What a simulated month uses (the services satisfy it)."""

    @property
    def store(self) -> Store: ...

    @property
    def practice(self) -> Practice: ...

    @property
    def outcomes(self) -> Outcomes: ...

    def now(self) -> dt.datetime: ...


def simulate_month(services: SimulationContext, *, seed: int = 7, days: int = 35) -> dict[str, Any]:
    """A campaign planned `days` ago, sent then, and what came of it up to now. Returns counts (no patient data)."""
    rng = np.random.default_rng(seed)
    now = utc(services.now())
    start = now - dt.timedelta(days=days)
    zone = services.outcomes.zone
    plan = build_plan(services.store, services.practice, start)
    rules = services.practice.outreach
    cid = start.strftime("S%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
    rows = []
    for rank, pc in enumerate(plan.contacts, start=1):
        held = in_holdout(cid, pc.patient_id, rules.holdout_share)
        direct = pc.channel in DIRECT
        sent_at = start + dt.timedelta(seconds=rank)
        rows.append(
            {
                "id": attempt_id(cid, pc.patient_id),
                "campaign_id": cid,
                "patient_id": pc.patient_id,
                "tier": pc.tier,
                "channel": pc.channel,
                "rank": rank,
                "reactivation_score": pc.reactivation_score,
                "expected_value": pc.expected_value,
                "status": "holdout" if held else ("sent" if direct else "listed"),
                "reason": "simulated",
                "tries": 0 if held or not direct else 1,
                "cost": 0.0 if held or not direct else rules.expected_cost(pc.channel),
                "sent_at": None if held or not direct else sent_at,
                "provider_id": None,
                "result": None,
                "finished_at": None,
                "notes": [],
            }
        )
    results: dict[str, str] = {}
    for r in rows:
        if r["status"] != "sent":
            continue
        ch = r["channel"]
        if ch in ("staff_call", "ai_call"):
            r["result"] = (
                "answered" if rng.random() < ANSWERED else str(rng.choice(["voicemail", "no-answer"]))
            )
        elif ch == "sms":
            r["result"] = "delivered" if rng.random() < 0.95 else "undelivered"
        else:
            r["result"] = "sent"
        r["finished_at"] = r["sent_at"] + dt.timedelta(minutes=2)
        results[r["id"]] = r["result"]
    with services.store.session() as s:
        s.add(
            Campaign(
                id=cid,
                run_id=plan.run_id,
                status="done",
                holdout_share=rules.holdout_share,
                created_at=start,
                finished_at=now,
                summary={**plan.as_json(), "simulated": True},
            )
        )
        s.flush()
        for i in range(0, len(rows), 5000):
            s.execute(OutreachAttempt.__table__.insert(), rows[i : i + 5000])
        spend = dict(
            s.execute(
                select(VisitLine.patient_id, func.avg(VisitLine.amount_cents))
                .where(VisitLine.patient_id.in_([r["patient_id"] for r in rows]))
                .group_by(VisitLine.patient_id)
            ).all()
        )
    outcomes = services.outcomes
    outcomes.holdouts(cid)
    events: list[Event] = []
    visits = []
    responded = returned = 0
    for r in rows:
        if r["status"] == "listed":
            continue
        back = BASELINE_RETURN
        if r["status"] == "sent":
            outcomes.sent(r["id"])
            outcomes.settled(r["id"])
            if rng.random() < TRUE_RESPONSE.get(r["tier"], {}).get(r["channel"], 0.0):
                responded += 1
                at = r["sent_at"] + dt.timedelta(days=int(rng.integers(0, 5)))
                month = month_of(r["sent_at"], zone)
                for key, kind in (
                    (f"responded:{r['id']}", "responded"),
                    (f"call:sim-{r['id']}:booked", "booked"),
                ):
                    events.append(
                        Event(key, kind, r["tier"], r["channel"], month, at, 0, r["patient_id"], r["id"], cid)
                    )
                back = RETURN_IF_RESPONDED
        if rng.random() < back:
            returned += 1
            day = (start + dt.timedelta(days=int(rng.integers(3, days)))).astimezone(zone).date()
            amount = int(spend.get(r["patient_id"]) or 15000)
            visits.append(
                {
                    "line_key": f"sim:{r['id']}",
                    "patient_id": r["patient_id"],
                    "day": day,
                    "amount_cents": amount,
                    "paid_cents": amount,
                    "department": "hygiene",
                    "provider": "",
                }
            )
    outcomes.log.record(events)
    if visits:
        with services.store.session() as s:
            s.execute(VisitLine.__table__.insert(), visits)
    attributed = outcomes.attribute(now.astimezone(zone).date())
    return {
        "campaign_id": cid,
        "contacts": sum(r["status"] == "sent" for r in rows),
        "held_out": sum(r["status"] == "holdout" for r in rows),
        "responded": responded,
        "returned": returned,
        "attributed_events": attributed,
    }
