"""Turning what happens (a send, a provider's final status, a call's facts, an opt-out) into outcome events.

Each method reads the durable row it is about and writes its events through `OutcomeLog` with keys taken from
that row's own ids, so a webhook Twilio repeats, a job that runs twice or callbacks that arrive out of order
change nothing the second time. Called after the product's own write has committed; a failure here is logged
(ids only) and never fails the webhook or the job: `receptionist stats rebuild` attributes and recounts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import redis as redis_lib
from sqlalchemy import select

from receptionist.clock import Clock, utc
from receptionist.config.practice import Practice
from receptionist.outcomes.events import REACHED_BY, RESPONSE_KINDS, Event, cents, month_of
from receptionist.outcomes.log import OutcomeLog
from receptionist.store import Call, Campaign, OutreachAttempt, PatientScore, ScoreRun, Store

log = logging.getLogger(__name__)
# a staff call's recorded outcome -> the event kind it counts as (docs/outcomes.md)
STAFF_OUTCOME_KINDS = {
    "reached": "staff_reached",
    "booked": "booked",
    "call_back": "callback",
    "not_interested": "not_interested",
    "wrong_number": "wrong_number",
}
_CALL_FACTS = (("opted_out", "opted_out"), ("message_taken", "message"), ("callback_queued", "callback"))


class Outcomes:
    """Outcome events written once to the store and counted live in Redis. Whoever builds it (the services)
    adds the log's listeners: today the integrations' outgoing webhooks."""

    def __init__(self, store: Store, redis: redis_lib.Redis | None, practice: Practice, now: Clock) -> None:
        self.store = store
        self.practice = practice
        self.now = now
        self.log = OutcomeLog(store, redis)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.practice.timezone)

    def _event(self, a: OutreachAttempt, key: str, kind: str, at: dt.datetime, amount: int = 0) -> Event:
        return Event(
            key=key,
            kind=kind,
            tier=a.tier,
            channel=a.channel,
            month=month_of(a.sent_at or at, self.zone),
            at=utc(at),
            amount_cents=amount,
            patient_id=a.patient_id,
            attempt_id=a.id,
            campaign_id=a.campaign_id,
        )

    def _safely(self, what: str, ref: str, produce) -> int:
        try:
            return self.log.record(produce())
        except Exception:  # outcomes never break the call or the job they describe
            log.exception("outcome %s for %s not recorded", what, ref)
            return 0

    # -- contact attempts -------------------------------------------------------------------------------------
    def sent(self, attempt_id: str) -> int:
        """The attempt went out: one `sent` (its cost); an email counts as reached (it has no delivery report)."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.sent_at is None:
                return []
            out = [self._event(a, f"sent:{a.id}", "sent", a.sent_at, cents(a.cost or 0.0))]
            if a.channel == "email":
                out.append(self._event(a, f"reached:{a.id}", "reached", a.sent_at))
            return out

        return self._safely("sent", attempt_id, produce)

    def settled(self, attempt_id: str) -> int:
        """The provider's final word on the attempt (the first one stands); answered/delivered count as reached."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                a = s.get(OutreachAttempt, attempt_id)
            if a is None or not a.result or a.result == "sent":
                return []
            at = a.finished_at or self.now()
            out = [self._event(a, f"result:{a.id}", a.result, at)]
            if a.result in REACHED_BY:
                out.append(self._event(a, f"reached:{a.id}", "reached", at))
            return out

        return self._safely("result", attempt_id, produce)

    def talked(self, attempt_id: str, seconds: int | None) -> int:
        """A call's connected minutes at the channel's per-minute rate (`talk`, amount: that cost), once."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.sent_at is None or not seconds:
                return []
            cost = self.practice.outreach.talk_cost(a.channel, seconds)
            return (
                [self._event(a, f"talk:{a.id}", "talk", a.finished_at or a.sent_at, cents(cost))]
                if cost
                else []
            )

        return self._safely("talk", attempt_id, produce)

    def holdouts(self, campaign_id: str) -> int:
        """The campaign's held-out patients, counted in the month the campaign started."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                c = s.get(Campaign, campaign_id)
                rows = s.scalars(
                    select(OutreachAttempt).where(
                        OutreachAttempt.campaign_id == campaign_id, OutreachAttempt.status == "holdout"
                    )
                ).all()
            if c is None:
                return []
            month = month_of(c.created_at, self.zone)
            return [
                Event(
                    f"holdout:{a.id}",
                    "holdout",
                    a.tier,
                    a.channel,
                    month,
                    utc(c.created_at),
                    0,
                    a.patient_id,
                    a.id,
                    campaign_id,
                )
                for a in rows
            ]

        return self._safely("holdout", campaign_id, produce)

    # -- what patients did -----------------------------------------------------------------------------------
    def latest_contact(self, patient_id: str, before: dt.datetime) -> OutreachAttempt | None:
        """The last attempt that reached out to the patient within the attribution window before `before`."""
        window = dt.timedelta(days=self.practice.outreach.attribution_window_days)
        before = utc(before)
        with self.store.sessions() as s:
            return s.scalars(
                select(OutreachAttempt)
                .where(
                    OutreachAttempt.patient_id == patient_id,
                    OutreachAttempt.sent_at.is_not(None),
                    OutreachAttempt.sent_at <= before,
                    OutreachAttempt.sent_at >= before - window,
                )
                .order_by(OutreachAttempt.sent_at.desc(), OutreachAttempt.id.desc())
                .limit(1)
            ).first()

    def _bucket(
        self, patient_id: str | None, tier: str | None, at: dt.datetime
    ) -> tuple[OutreachAttempt | None, str, str, str]:
        a = self.latest_contact(patient_id, at) if patient_id else None
        if a is not None:
            return a, a.tier, a.channel, month_of(a.sent_at, self.zone)
        return None, tier or self._tier(patient_id) or "none", "inbound", month_of(at, self.zone)

    def _tier(self, patient_id: str | None) -> str | None:
        if not patient_id:
            return None
        with self.store.sessions() as s:
            return s.scalar(
                select(PatientScore.tier)
                .join(ScoreRun, ScoreRun.id == PatientScore.run_id)
                .where(PatientScore.patient_id == patient_id)
                .order_by(ScoreRun.created_at.desc())
                .limit(1)
            )

    def call_ended(self, call_sid: str) -> int:
        """A call's final status: its status, transfer and facts, in the bucket of the patient's last contact
        (or `inbound`); a booking or callback request within the window after a contact is its response."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                call = s.get(Call, call_sid)
            if call is None:
                return []
            at = utc(self.now())  # the services clock, which dated the attempts too
            a, tier, channel, month = self._bucket(call.patient_id, call.tier, at)

            def ev(key: str, kind: str) -> Event:
                return Event(
                    key,
                    kind,
                    tier,
                    channel,
                    month,
                    at,
                    0,
                    call.patient_id,
                    a.id if a else None,
                    a.campaign_id if a else None,
                )

            facts = call.facts or {}
            out = [ev(f"call:{call_sid}:status", f"call_{call.status}")]
            if call.transfer:
                out.append(ev(f"call:{call_sid}:transfer", f"transfer_{call.transfer}"))
            kinds = []
            if facts.get("appointment"):
                kinds.append(str(facts["appointment"].get("action")))
            kinds += [kind for name, kind in _CALL_FACTS if facts.get(name)]
            for kind in kinds:
                key = (
                    f"optout:{call.patient_id}"
                    if kind == "opted_out" and call.patient_id
                    else f"call:{call_sid}:{kind}"
                )
                out.append(ev(key, kind))
            if a is not None and RESPONSE_KINDS.intersection(kinds):
                out.append(self._event(a, f"responded:{a.id}", "responded", at))
            return out

        return self._safely("call", call_sid, produce)

    def opted_out(self, patient_ids: Iterable[str]) -> int:
        """Opt-outs by text or email link, once per patient, in the bucket of their last contact."""

        def produce() -> list[Event]:
            now = utc(self.now())
            out = []
            for pid in patient_ids:
                a, tier, channel, month = self._bucket(pid, None, now)
                out.append(
                    Event(
                        f"optout:{pid}",
                        "opted_out",
                        tier,
                        channel,
                        month,
                        now,
                        0,
                        pid,
                        a.id if a else None,
                        a.campaign_id if a else None,
                    )
                )
            return out

        return self._safely("opt-out", "patients", produce)

    def attribute(self, as_of: dt.date | None = None) -> int:
        """Reactivations and revenue from the visits in the store, as of a day (default: today, locally)."""
        from receptionist.outcomes.attribution import attribute

        day = as_of or utc(self.now()).astimezone(self.zone).date()
        return attribute(self.store, self.log, self.practice.outreach, self.zone, day)

    def booked_online(self, patient_id: str, ref: str, at: dt.datetime) -> int:
        """A booking completed online (`ref`: the integration and its appointment id, once): `booked`, in the
        bucket of the patient's last contact within the window, where it is that contact's response."""

        def produce() -> list[Event]:
            when = utc(at)
            a, tier, channel, month = self._bucket(patient_id, None, when)
            out = [
                Event(
                    f"online:{ref}:booked",
                    "booked",
                    tier,
                    channel,
                    month,
                    when,
                    0,
                    patient_id,
                    a.id if a else None,
                    a.campaign_id if a else None,
                )
            ]
            if a is not None:
                out.append(self._event(a, f"responded:{a.id}", "responded", when))
            return out

        return self._safely("online booking", ref, produce)

    def staff_outcome(self, attempt_id: str) -> int:
        """What a staff member recorded after a staff call (`OutreachAttempt.staff_outcome`), in the call's bucket:
        reached for anyone who answered, and for a booking or a wish to be called back a response too. The keys
        are the attempt's, so recording the same outcome twice (or the bridge's "answered" as well) counts once."""

        def produce() -> list[Event]:
            with self.store.sessions() as s:
                a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.sent_at is None or not a.staff_outcome:
                return []
            at = a.staff_outcome_at or self.now()
            kind = STAFF_OUTCOME_KINDS[a.staff_outcome]
            out = [self._event(a, f"staff:{a.id}:{kind}", kind, at)]
            if a.staff_outcome != "wrong_number":
                out.append(self._event(a, f"reached:{a.id}", "reached", at))
            if kind in RESPONSE_KINDS:
                out.append(self._event(a, f"responded:{a.id}", "responded", at))
            return out

        return self._safely("staff outcome", attempt_id, produce)

    def replied(self, patient_ids: Iterable[str]) -> int:
        """A text reply (not a STOP) to the last text sent: the patient wrote back."""

        def produce() -> list[Event]:
            now = utc(self.now())
            out = []
            for pid in patient_ids:
                a = self.latest_contact(pid, now)
                if a is not None and a.channel == "sms":
                    out.append(self._event(a, f"replied:{a.id}", "replied", now))
            return out

        return self._safely("reply", "patients", produce)
