"""`receptionist campaign run | pause | resume | status | calls | call-now`: a plan becomes a campaign.

`start` writes the campaign and one attempt row per planned patient in one transaction (the durable outreach
log), keeps a random hold-out out of it (`holdout_share`, for true lift), and enqueues one RQ job per direct
attempt (AI call, text, email). Staff calls are listed for people to make ("call now" bridges the staff
member's phone to the patient); the general-campaign patients are listed for export. Workers do the rest,
within the gates (`dispatch.py`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from receptionist import csvsafe, jobqueue
from receptionist.clock import Clock, utc
from receptionist.config.practice import Practice
from receptionist.jobqueue import Jobs
from receptionist.outcomes.cost import INCLUDES, campaign_cost
from receptionist.outcomes.record import Outcomes
from receptionist.outreach.dispatch import (
    DIRECT,
    LOCK_SECONDS,
    Dispatcher,
    channel_consent,
    job_options,
    schedule_reconcile,
)
from receptionist.outreach.gates import WEEK, may_contact
from receptionist.outreach.limits import Limits
from receptionist.outreach.planner import Plan
from receptionist.outreach.sequencer import choose_for_plan, schedule_advance, step_attempt_id
from receptionist.outreach.sequences import step_purpose
from receptionist.patients.cache import TierCache
from receptionist.store import Callback, Campaign, OutreachAttempt, Patient, PatientPhone, Store
from receptionist.telephony.rest import TwilioApi
from receptionist.wording.written import written_time

ENQUEUE_CHUNK = 1000
# what a staff member can record after a staff call (the dashboard's outcome form)
STAFF_OUTCOMES = ("reached", "booked", "call_back", "not_interested", "wrong_number")


class CampaignError(RuntimeError):
    """A user error: no such campaign, nothing to do, a call that may not be placed now."""


@dataclass(frozen=True)
class Started:
    campaign_id: str
    attempts: int
    enqueued: int
    staff_calls: int
    general: int
    holdout: int


def in_holdout(campaign_id: str, patient_id: str, share: float) -> bool:
    """A stable, uniform draw per (campaign, patient): the same patients are held out however often it runs."""
    digest = hashlib.sha256(f"{campaign_id}:{patient_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def attempt_id(campaign_id: str, patient_id: str, step: int | None = None) -> str:
    """The idempotency key: `<campaign>:<patient>`, or `<campaign>:<patient>:<step>` for a sequence's step."""
    return f"{campaign_id}:{patient_id}" if step is None else f"{campaign_id}:{patient_id}:{step}"


class Campaigns:
    """Starting, pausing and resuming campaigns, the staff call list ("call now", outcomes) and the export."""

    def __init__(
        self,
        *,
        store: Store,
        practice: Practice,
        now: Clock,
        dispatcher: Dispatcher,
        limits: Limits,
        jobs: Jobs,
        outcomes: Outcomes,
        twilio: TwilioApi,
        cache: TierCache,
        base_url: str,
    ) -> None:
        self.store = store
        self.practice = practice
        self.now = now
        self.dispatcher = dispatcher
        self.limits = limits
        self.jobs = jobs
        self.outcomes = outcomes
        self.twilio = twilio
        self.cache = cache
        self.base_url = base_url

    def start(self, plan: Plan, now: dt.datetime, *, kind: str = "reactivation") -> Started:
        """`kind`: what the campaign is for (store KINDS); a recall campaign holds nobody out (its reminders
        are healthcare, not an experiment)."""
        if not plan.contacts:
            raise CampaignError("nothing to do: the plan has no patients to contact")

        share = self.practice.outreach.holdout_share if kind == "reactivation" else 0.0
        campaign_id = now.strftime("C%Y%m%d%H%M%S") + uuid.uuid4().hex[:6]
        purposes = {pc.purpose for pc in plan.contacts}
        # each patient's sequence and the step they enter at (sequencer.py); (None, 0): the plan's one contact
        steps = (
            choose_for_plan(self.store, self.practice, plan.contacts, plan.run_id)
            if kind == "reactivation"
            else [(None, 0)] * len(plan.contacts)  # recall has its own steps (`recall.py`)
        )
        rows: list[dict[str, Any]] = []
        for rank, (pc, (seq, step)) in enumerate(zip(plan.contacts, steps, strict=True), start=1):
            held = in_holdout(campaign_id, pc.patient_id, share)
            status = "holdout" if held else "queued" if pc.channel in DIRECT else "listed"
            seq = None if held else seq
            offer = seq.steps[step].offer if seq is not None else ""
            rows.append(
                {
                    "id": attempt_id(campaign_id, pc.patient_id, pc.step)
                    if seq is None
                    else step_attempt_id(campaign_id, pc.patient_id, step),
                    "step": step if seq is not None else (pc.step or 0),
                    "sequence": seq.name if seq is not None else None,
                    "offer": offer or None,
                    "campaign_id": campaign_id,
                    "patient_id": pc.patient_id,
                    "tier": pc.tier,
                    "channel": pc.channel,
                    "purpose": step_purpose(offer, pc.purpose),
                    "rank": rank,
                    "reactivation_score": pc.reactivation_score,
                    "expected_value": pc.expected_value,
                    "status": status,
                    "reason": "",
                    "tries": 0,
                    "cost": 0.0,
                    "notes": list(pc.talking_points),
                }
            )
        with self.store.session() as s:
            s.add(
                Campaign(
                    id=campaign_id,
                    run_id=plan.run_id,
                    status="running",
                    holdout_share=share,
                    created_at=now,
                    summary=plan.as_json(),
                    purpose="marketing" if "marketing" in purposes else "exempt",
                    kind=kind,
                )
            )
            s.flush()
            for i in range(0, len(rows), 5000):
                s.execute(OutreachAttempt.__table__.insert(), rows[i : i + 5000])
        self.outcomes.holdouts(campaign_id)
        queued = [r["id"] for r in rows if r["status"] == "queued"]
        self._enqueue(queued)
        schedule_reconcile(self.jobs)
        if any(r["sequence"] for r in rows):
            schedule_advance(self.jobs)
        return Started(
            campaign_id,
            len(rows),
            len(queued),
            sum(r["status"] == "listed" and r["channel"] == "staff_call" for r in rows),
            sum(r["status"] == "listed" and r["channel"] == "general" for r in rows),
            sum(r["status"] == "holdout" for r in rows),
        )

    def _enqueue(self, attempt_ids: list[str]) -> None:
        options = job_options(bulk=True)
        for i in range(0, len(attempt_ids), ENQUEUE_CHUNK):
            chunk = attempt_ids[i : i + ENQUEUE_CHUNK]
            self.jobs.enqueue_many(
                jobqueue.SEND_ATTEMPT, [(aid,) for aid in chunk], queue="outreach", **options
            )

    def latest(self) -> str | None:
        """The latest reactivation campaign (what `campaign ...` means without an id; a recall run is named)."""
        with self.store.sessions() as s:
            return s.scalar(
                select(Campaign.id)
                .where(Campaign.kind == "reactivation")
                .order_by(Campaign.created_at.desc(), Campaign.id.desc())
                .limit(1)
            )

    def resolve(self, campaign_id: str | None) -> str:
        cid = campaign_id or self.latest()
        if cid is None:
            raise CampaignError("no campaign yet: run `receptionist campaign run` first")
        with self.store.sessions() as s:
            if s.get(Campaign, cid) is None:
                raise CampaignError(f"no campaign {cid}")
        return cid

    def pause(self, campaign_id: str | None) -> str:
        cid = self.resolve(campaign_id)
        with self.store.session() as s:
            c = s.get(Campaign, cid)
            if c.status == "running":
                c.status, c.paused_at = "paused", self.now()
        return cid

    def resume(self, campaign_id: str | None) -> tuple[str, int]:
        """Running again; attempts a worker deferred while paused go back in the queue."""

        cid = self.resolve(campaign_id)
        with self.store.session() as s:
            c = s.get(Campaign, cid)
            c.status, c.paused_at = "running", None
        with self.store.session() as s:
            paused = s.scalars(
                select(OutreachAttempt.id).where(
                    OutreachAttempt.campaign_id == cid,
                    OutreachAttempt.status == "deferred",
                    OutreachAttempt.reason == "campaign paused",
                )
            ).all()
            for aid in paused:
                s.get(OutreachAttempt, aid).status = "queued"
        self._enqueue(list(paused))
        schedule_reconcile(self.jobs)
        schedule_advance(self.jobs)  # the sequences' periodic job ends while no campaign runs
        return cid, len(paused)

    def status(self, campaign_id: str | None) -> dict[str, Any]:
        """Progress: attempts per channel and status, and what came of those that went out."""
        cid = self.resolve(campaign_id)
        with self.store.sessions() as s:
            c = s.get(Campaign, cid)
            by: dict[str, dict[str, int]] = {}
            for channel, status, n in s.execute(
                select(OutreachAttempt.channel, OutreachAttempt.status, func.count())
                .where(OutreachAttempt.campaign_id == cid)
                .group_by(OutreachAttempt.channel, OutreachAttempt.status)
            ):
                by.setdefault(channel, {})[status] = n
            results: dict[str, int] = {}
            for result, n in s.execute(
                select(OutreachAttempt.result, func.count())
                .where(OutreachAttempt.campaign_id == cid, OutreachAttempt.result.is_not(None))
                .group_by(OutreachAttempt.result)
            ):
                results[result] = n
            pending = sum(
                n for ch in by.values() for st, n in ch.items() if st in ("queued", "deferred", "sending")
            )
            waiting, next_at = s.execute(
                select(func.count(), func.min(OutreachAttempt.not_before)).where(
                    OutreachAttempt.campaign_id == cid, OutreachAttempt.status == "deferred"
                )
            ).one()
            head = {
                "campaign_id": cid,
                "status": c.status,
                "purpose": c.purpose,  # exempt | marketing: whose rules the gates apply
                "kind": c.kind,  # reactivation | recall
                "run_id": c.run_id,
                "created_at": c.created_at,
            }
        cost = campaign_cost(self.store, cid)  # the one definition (outcomes/cost.py), as stats and Results
        return {
            **head,
            "created_at": head["created_at"].isoformat(),
            "attempts": by,
            "results": results,
            "pending": pending,
            "deferred": {
                "count": int(waiting or 0),
                "next_send": utc(next_at).isoformat() if next_at is not None else None,
                "next_send_local": written_time(utc(next_at), ZoneInfo(self.practice.timezone))
                if next_at is not None
                else None,
            },
            "cost": round(cost.total, 2),
            "cost_includes": INCLUDES,
            "cost_parts": cost.as_json(),
        }

    # -- the staff call list ---------------------------------------------------------------------------------
    def staff_list(self, campaign_id: str | None) -> list[dict[str, Any]]:
        cid = self.resolve(campaign_id)
        with self.store.sessions() as s:
            rows = s.execute(
                select(OutreachAttempt, Patient)
                .join(Patient, Patient.id == OutreachAttempt.patient_id)
                .where(
                    OutreachAttempt.campaign_id == cid,
                    OutreachAttempt.channel == "staff_call",
                    OutreachAttempt.status.in_(("listed", "sending", "sent", "skipped", "failed")),
                    Patient.status == "active",  # a death (or inactive) recorded after the plan: off the list
                )
                .order_by(OutreachAttempt.rank)
            ).all()
            phones = dict(
                s.execute(
                    select(PatientPhone.patient_id, PatientPhone.phone)
                    .where(PatientPhone.patient_id.in_([p.id for _, p in rows]))
                    .order_by(PatientPhone.position.desc())
                ).all()
            )
        return [
            {
                "attempt_id": a.id,
                "patient_id": p.id,
                "name": f"{p.first_name} {p.last_name}".strip(),
                "phone": phones.get(p.id, ""),
                "status": a.status,
                "result": a.result,
                "talking_points": list(a.notes or []),
                "reason": a.reason,
            }
            for a, p in rows
        ]

    def call_now(self, attempt: str, staff_number: str) -> str:
        """Ring the staff member first; once they press 1, Twilio dials the patient from the practice's number.

        The patient leg is a person calling, so the AI-voice consent rule does not apply, but the opt-out,
        the calling hours in the patient's zone and the daily/weekly limits do, and the patient's lock is
        taken like any other contact."""
        d = self.dispatcher
        c = d.contact(attempt)
        if c is None or c.channel != "staff_call":
            raise CampaignError(f"no staff call {attempt}")
        if c.status != "listed":
            raise CampaignError(f"staff call {attempt} is already {c.status}")
        if c.deceased:
            raise CampaignError(f"not calling: the patient of staff call {attempt} is deceased")
        now = self.now().astimezone(dt.UTC)
        lawful, why = channel_consent("staff_call", c, email_on=False)
        decision = may_contact(
            now,
            d.zone(c),
            d.contacts_since(c.patient_id, now - WEEK, attempt),
            lawful,
            c.opted_out or c.number_revoked,
            d.rules_for(c),
        )
        if not lawful and not (c.opted_out or c.number_revoked):
            raise CampaignError(f"not calling now: {why}")
        if not decision.allowed:
            when = (
                f"; the patient can be called from {written_time(decision.retry_at, ZoneInfo(self.practice.timezone))}"
                if decision.retry_at
                else ""
            )
            raise CampaignError(f"{decision.reason}{when}")
        if not self.limits.lock_patient(c.patient_id, attempt, LOCK_SECONDS["staff_call"]):
            raise CampaignError("another contact with this patient is in progress")
        if not d.transition(
            attempt,
            ("listed",),
            status="sending",
            claimed_at=now,
            staff_number=staff_number,
            tries=OutreachAttempt.tries + 1,
        ):
            self.limits.unlock_patient(c.patient_id, attempt)
            raise CampaignError(f"staff call {attempt} was just taken by someone else")
        q = f"?attempt={attempt}"
        base = self.base_url
        try:
            sid = self.twilio.bridge_call(
                to=staff_number,
                from_=self.practice.main.phone,
                url=f"{base}/voice/bridge{q}",
                status_callback=f"{base}/voice/status{q}",
            )
        except Exception as exc:  # noqa: BLE001 - Twilio refused or could not be reached: say so, list it again
            d.transition(attempt, ("sending",), status="listed", reason="the bridge call could not be placed")
            self.limits.unlock_patient(c.patient_id, attempt)
            raise CampaignError(
                f"the call could not be placed ({type(exc).__name__}); is Twilio configured "
                "(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) or `receptionist up` running?"
            ) from None
        d.transition(
            attempt,
            ("sending",),
            status="sent",
            sent_at=now,
            provider_id=sid,
            cost=self.practice.outreach.costs.get("staff_call", 0.0),
            reason="",
        )
        self.outcomes.sent(attempt)
        return sid

    def record_outcome(self, attempt: str, outcome: str) -> str:
        """What came of a staff call, as the staff member tells it (the dashboard's outcome form).

        A call made from the staff member's own phone (no "call now") counts as sent now. `wrong_number` takes
        the number off the patient (so nobody dials it for them again) and `call_back` queues a callback; "not
        interested" is no opt-out: that is recorded separately, only when the patient asks."""
        if outcome not in STAFF_OUTCOMES:
            raise CampaignError(f"unknown outcome {outcome!r}: one of {', '.join(STAFF_OUTCOMES)}")
        d = self.dispatcher
        c = d.contact(attempt)
        if c is None or c.channel != "staff_call":
            raise CampaignError(f"no staff call {attempt}")
        if c.status not in ("listed", "sending", "sent"):
            raise CampaignError(f"staff call {attempt} is {c.status}: nothing to record")
        now = self.now().astimezone(dt.UTC)
        if c.status == "listed" and d.transition(
            attempt,
            ("listed",),
            status="sent",
            sent_at=now,
            finished_at=now,
            tries=OutreachAttempt.tries + 1,
            cost=self.practice.outreach.costs.get("staff_call", 0.0),
            reason="called from a staff phone",
        ):
            self.outcomes.sent(attempt)
        with self.store.session() as s:
            a = s.get(OutreachAttempt, attempt)
            a.staff_outcome, a.staff_outcome_at = outcome, now
            if outcome == "wrong_number" and c.phone:
                s.execute(
                    delete(PatientPhone).where(
                        PatientPhone.patient_id == c.patient_id, PatientPhone.phone == c.phone
                    )
                )
            if outcome == "call_back":
                s.add(
                    Callback(
                        patient_id=c.patient_id,
                        phone=c.phone,
                        location_id=self.practice.main.id,
                        reason="asked to be called back (staff reactivation call)",
                        priority="high" if c.tier == "high" else "normal",
                        created_at=now,
                    )
                )
        if outcome == "wrong_number" and c.phone:
            try:
                self.cache.forget(c.phone)
            except Exception:  # noqa: BLE001 - the store is changed; the cache catches up at the next publish
                pass
        self.outcomes.staff_outcome(attempt)
        return outcome

    def export_general(self, campaign_id: str | None, out: Path) -> int:
        """The general-campaign patients (names and contacts: patient data, for the practice's own sender)."""
        cid = self.resolve(campaign_id)
        with self.store.sessions() as s:
            rows = s.execute(
                select(OutreachAttempt, Patient)
                .join(Patient, Patient.id == OutreachAttempt.patient_id)
                .where(
                    OutreachAttempt.campaign_id == cid,
                    OutreachAttempt.channel == "general",
                    OutreachAttempt.status == "listed",
                    Patient.status == "active",
                )
                .order_by(OutreachAttempt.rank)
            ).all()
            phones = dict(
                s.execute(
                    select(PatientPhone.patient_id, PatientPhone.phone).order_by(PatientPhone.position.desc())
                ).all()
            )
        with csvsafe.open_private(out) as fh:
            w = csvsafe.writer(fh)
            w.writerow(["patient_id", "first_name", "last_name", "email", "phone", "zip", "tier"])
            for a, p in rows:
                w.writerow([p.id, p.first_name, p.last_name, p.email, phones.get(p.id, ""), p.zip, a.tier])
        return len(rows)
