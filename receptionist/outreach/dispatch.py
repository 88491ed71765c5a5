"""Carrying out one contact attempt, exactly once, within the gates; and settling what the provider reports.

`Dispatcher.send(attempt_id)` is the body of the RQ job. In order:
1. the attempt row (the idempotency key): anything but queued/deferred means it is done or in hand: return;
   a paused campaign defers it;
   a deceased patient (a death recorded after the plan) ends it as skipped, on every channel, and so does an
   inactive one (the PMS's inactive, archived, non-patient); so does a recall reminder whose patient booked,
   visited or responded since its campaign began (`recall.stopped`);
   a step of a reactivation sequence whose patient responded, booked, tried to book online, visited or opted
   out since the campaign started ends as skipped, "sequence stopped: <why>" (`stops.py`);
2. the patient's lock (Redis, any channel, with an expiry): held by another attempt -> try again later, so a
   patient never has two contacts in progress;
3. the gates (`gates.may_contact`), on fresh data read under that lock, with the rules of the attempt's
   purpose (exempt or marketing) and of the patient's states (`gates.rules_for`, `states.py`): opted out, a
   number that revoked by text, or no consent for the channel and purpose -> skipped for good; outside the
   calling hours in the patient's zone, or the daily/weekly limit reached -> deferred to the instant the
   gates open again (rq's scheduler runs it then); an exempt text that would break the exemption -> skipped;
4. the claim: one UPDATE from queued/deferred to sending, only while the patient is not opted out (a
   revocation that lands after step 3 still stops it); only one worker can win it;
5. the pacing shared by all workers (sends per second per channel, concurrent calls), then the send;
6. the row says sent, with the provider's id and the cost.
A worker killed between 4 and 6 leaves the row in `sending`: `reconcile` asks the provider whether the contact
went out (by number and time) and either records it or puts it back in the queue, so nothing is lost and
nothing is sent twice. Calls keep the patient's lock and a call slot until their final status callback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update

from receptionist import jobqueue
from receptionist.clock import Clock, utc
from receptionist.config.practice import OutreachRules, Practice
from receptionist.jobqueue import Jobs
from receptionist.outcomes.record import Outcomes
from receptionist.outreach import optout, recall, states
from receptionist.outreach.channels import Mailer
from receptionist.outreach.gates import (
    EXEMPT_CALL_SECONDS,
    WEEK,
    consent_for,
    exempt_text_problem,
    may_contact,
    patient_zones,
    rules_for,
)
from receptionist.outreach.limits import Limits
from receptionist.outreach.sequences import STOPPED_PREFIX, offer_consent
from receptionist.outreach.stops import stop_reason_for
from receptionist.store import Campaign, OutreachAttempt, Patient, PatientPhone, Store, UnsubscribeLink, keys
from receptionist.store.outreach import PENDING
from receptionist.telephony.params import CallParams, MessageParams
from receptionist.telephony.rest import Refused, TwilioApi
from receptionist.wording import contacts, offers
from receptionist.wording import recall as recall_wording

log = logging.getLogger(__name__)

DIRECT = ("ai_call", "sms", "email")
LOCK_SECONDS = {"ai_call": 15 * 60, "sms": 120, "email": 120, "staff_call": 15 * 60}
CALL_TIME_LIMIT_S = 10 * 60
BUSY_RETRY = dt.timedelta(minutes=15)  # another contact with the patient is in progress
FULL_RETRY = dt.timedelta(seconds=20)  # every call slot is taken
LEASE = dt.timedelta(minutes=2)  # a claim older than this with no outcome: its worker is gone
MAX_TRIES = 4
SMS_PER_SECOND = 1.0
MAX_PACING_WAIT_S = 10.0


@dataclass(frozen=True)
class Contact:
    """What one attempt needs to know about its patient, read once."""

    attempt_id: str
    campaign_id: str
    patient_id: str
    channel: str
    tier: str
    status: str
    campaign_status: str
    first_name: str
    phone: str | None
    email: str
    zip: str
    consent_voice: bool
    consent_sms: bool
    consent_written: bool
    opted_out: bool
    preferences: dict[str, Any]
    booking_attempt_at: dt.datetime | None = None  # tried to book online: trying to return
    deceased: bool = False  # never contacted on any channel, whatever the consents say
    inactive: bool = False  # the PMS says inactive, archived or not a patient: never contacted either
    purpose: str = "marketing"  # the step's tag: exempt | marketing
    number_revoked: bool = False  # the number revoked consent by text (the ledger)
    campaign_kind: str = "reactivation"  # reactivation | recall
    campaign_created_at: dt.datetime | None = None
    step: int = 0  # its reactivation sequence's step (`sequences.py`), 0 for a one-contact attempt
    sequence: str = ""  # the sequence's name; empty: the plan's one contact
    offer: str = ""  # the step's offer id: marketing, written consent on any channel

    @property
    def state_rules(self) -> tuple[states.StateRule, ...]:
        """The state rules that bind this contact: the patient's states, this purpose."""
        return states.applicable(states.patient_states(self.phone, self.zip), self.purpose)


def channel_consent(channel: str, c: Contact, email_on: bool) -> tuple[bool, str]:
    """Whether the channel is lawful for this patient and this purpose now (COMPLIANCE.md), and why not."""
    if (
        c.preferences.get(
            {"ai_call": "call", "staff_call": "call", "sms": "text", "email": "email"}.get(channel, "")
        )
        is False
    ):
        return False, f"patient asked not to be contacted by {channel.replace('_', ' ')}"
    if channel in ("ai_call", "sms", "staff_call") and not c.phone:
        return False, "no phone number"
    lawful, why = consent_for(
        c.purpose,
        channel,
        voice=c.consent_voice,
        sms=c.consent_sms,
        written=c.consent_written,
        state_rules=c.state_rules,
    )
    if not lawful:
        return False, why
    lawful, why = offer_consent(c.offer, c.consent_written)
    if not lawful:
        return False, why
    if channel == "email":
        if not c.email:
            return False, "no email address"
        if not email_on:
            return False, "the email channel is off (SMTP_URL not set)"
    return True, "allowed"


TRYING_TO_RETURN = "trying to return (booking online)"
DECEASED = "deceased"
INACTIVE = "inactive"


def trying_to_return(booking_attempt_at: dt.datetime | None, now: dt.datetime, cooldown_days: int) -> bool:
    """A booking attempt within the cool-down (a future-dated one counts too) holds reactivation contacts back."""
    return booking_attempt_at is not None and booking_attempt_at > now - dt.timedelta(days=cooldown_days)


# An email's unsubscribe link works this long (CAN-SPAM asks for 30 days at least; a patient may open an old
# email): after that the page says how else to opt out.
UNSUBSCRIBE_DAYS = 180


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_unsubscribe_link(store: Store, patient_id: str, attempt_id: str, now: dt.datetime) -> str:
    """A fresh unsubscribe token for one email: random (no patient id in it, no key to rotate), looked up in
    the store, which keeps only its hash."""
    token = secrets.token_urlsafe(18)
    with store.session() as s:
        s.add(
            UnsubscribeLink(
                token_hash=_token_hash(token),
                patient_id=patient_id,
                attempt_id=attempt_id,
                created_at=now,
                expires_at=now + dt.timedelta(days=UNSUBSCRIBE_DAYS),
            )
        )
    return token


def legacy_unsubscribe_token(secret: str, patient_id: str) -> str:
    """The first scheme's token (`<patient id>.<HMAC under the Twilio auth token>`), for links already sent."""
    digest = hmac.new(secret.encode(), f"unsubscribe:{patient_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{patient_id}.{digest}"


def check_unsubscribe_token(
    store: Store, token: str, now: dt.datetime, legacy_secret: str | None = None
) -> tuple[str | None, bool]:
    """(patient id, expired) for a link's token: (id, False) when it works, (None, True) when it is one of ours
    but past its expiry, (None, False) when it is not a link of ours. Links of the first scheme keep working
    while the Twilio auth token that made them is unchanged (they can only opt a patient out)."""
    if len(token) > 200:
        return None, False
    with store.sessions() as s:
        link = s.get(UnsubscribeLink, _token_hash(token))
    if link is not None:
        expires = utc(link.expires_at)
        if expires is not None and expires <= now:
            return None, True
        return link.patient_id, False
    patient_id, _, _ = token.rpartition(".")
    if (
        legacy_secret
        and patient_id
        and hmac.compare_digest(legacy_unsubscribe_token(legacy_secret, patient_id), token)
    ):
        return patient_id, False
    return None, False


class AttemptSource(Protocol):
    """Another module whose attempts this dispatcher sends (the ASAP list's offers, `Dispatcher.sources`):
    whether their campaign still runs, and the text they send."""

    def campaign_status(self, campaign_id: str) -> str: ...

    def text(self, c: Contact) -> str: ...


class Dispatcher:
    """Sends reactivation attempts within the gates, settles them from Twilio's callbacks, reconciles the ones
    a dead worker left."""

    # campaign-id prefix -> the module whose attempts those are (wired by the services)
    sources: dict[str, AttemptSource]

    def __init__(
        self,
        *,
        store: Store,
        practice: Practice,
        now: Clock,
        twilio: TwilioApi,
        mailer: Mailer | None,
        limits: Limits,
        jobs: Jobs,
        outcomes: Outcomes,
        base_url: str,
        legacy_unsubscribe_secret: str | None = None,
    ) -> None:
        self.store = store
        self.practice = practice
        self.now = now
        self.twilio = twilio
        self.mailer = mailer
        self.limits = limits
        self.jobs = jobs
        self.outcomes = outcomes
        self.base_url = base_url
        self.legacy_unsubscribe_secret = legacy_unsubscribe_secret
        self.sources = {}

    def source(self, campaign_id: str) -> AttemptSource | None:
        return next((v for k, v in self.sources.items() if campaign_id.startswith(k)), None)

    @property
    def rules(self) -> OutreachRules:
        return self.practice.outreach

    def _url(self, path: str) -> str:
        return self.base_url + path

    # -- reading ---------------------------------------------------------------------------------------------
    def contact(self, attempt_id: str) -> Contact | None:
        with self.store.sessions() as s:
            a = s.get(OutreachAttempt, attempt_id)
            if a is None:
                return None
            campaign = s.get(Campaign, a.campaign_id)
            source = self.source(a.campaign_id) if campaign is None else None
            p = s.get(Patient, a.patient_id)
            phone = s.scalar(
                select(PatientPhone.phone)
                .where(PatientPhone.patient_id == a.patient_id)
                .order_by(PatientPhone.position, PatientPhone.phone)
                .limit(1)
            )
            return Contact(
                attempt_id=a.id,
                campaign_id=a.campaign_id,
                patient_id=a.patient_id,
                channel=a.channel,
                tier=a.tier,
                status=a.status,
                campaign_status=campaign.status
                if campaign
                else source.campaign_status(a.campaign_id)
                if source
                else "done",
                first_name=(p.first_name if p else "") or "",
                phone=phone,
                email=(p.email if p else "") or "",
                zip=(p.zip if p else "") or "",
                consent_voice=bool(p and p.consent_voice),
                consent_sms=bool(p and p.consent_sms),
                consent_written=bool(p and p.consent_written),
                opted_out=bool(p is None or p.opted_out),
                preferences=(p.contact_preferences if p else None) or {},
                booking_attempt_at=utc(p.booking_attempt_at) if p and p.booking_attempt_at else None,
                deceased=bool(p is not None and p.status == "deceased"),
                inactive=bool(p is not None and p.status == "inactive"),
                purpose=a.purpose or "marketing",
                number_revoked=optout.number_revoked(self.store, phone),
                campaign_kind=campaign.kind if campaign else "reactivation",
                campaign_created_at=utc(campaign.created_at) if campaign else None,
                step=int(a.step or 0),
                sequence=a.sequence or "",
                offer=a.offer or "",
            )

    def contacts_since(
        self, patient_id: str, since: dt.datetime, exclude: str | None = None
    ) -> list[dt.datetime]:
        """When this patient was contacted since `since`, any campaign, any channel (the durable log)."""
        with self.store.sessions() as s:
            rows = s.execute(
                select(OutreachAttempt.id, OutreachAttempt.sent_at).where(
                    OutreachAttempt.patient_id == patient_id,
                    OutreachAttempt.sent_at.is_not(None),
                    OutreachAttempt.sent_at >= since,
                )
            ).all()
        return [utc(sent) for aid, sent in rows if aid != exclude]

    def zone(self, c: Contact) -> tuple[ZoneInfo, ...]:
        return patient_zones(c.phone, c.zip, ZoneInfo(self.practice.timezone))

    def rules_for(self, c: Contact) -> OutreachRules:
        """The practice's rules narrowed by the contact's purpose and the patient's states."""
        return rules_for(self.rules, c.purpose, c.state_rules)

    def text_for(self, c: Contact) -> str:
        """The text an SMS attempt sends: the recall wording when exempt, the reactivation one otherwise."""
        main = self.practice.main
        source = self.source(c.campaign_id)
        if source is not None:
            return source.text(c)
        if c.campaign_kind == recall.RECALL_KIND:
            stage = recall.stage_for(c.attempt_id, self.practice.recall)
            return recall_wording.recall_sms_text(self.practice.name, c.first_name, main.phone, stage)
        if c.purpose == "exempt":
            return contacts.reminder_sms_text(self.practice.name, c.first_name, main.phone)
        if c.offer in self.practice.sequences.offers:
            offer = self.practice.sequences.offers[c.offer]
            return offers.offer_sms_text(self.practice.name, c.first_name, main.phone, offer)
        return contacts.sms_text(self.practice.name, c.first_name, main.phone)

    # -- the job ---------------------------------------------------------------------------------------------
    def send(self, attempt_id: str) -> str:
        """Carry out one attempt if, and only if, it is still due and every gate allows it. Returns what happened."""
        c = self.contact(attempt_id)
        if c is None:
            return "unknown attempt"
        if c.status not in PENDING:
            return f"already {c.status}"
        if c.channel not in DIRECT:
            return f"not sent by a worker ({c.channel})"
        if c.campaign_status != "running":
            self.transition(attempt_id, PENDING, status="deferred", reason=f"campaign {c.campaign_status}")
            return f"campaign {c.campaign_status}"
        now = utc(self.now())
        if c.deceased:  # recorded after the plan: the attempt ends here, before any gate or lock
            self.transition(attempt_id, PENDING, status="skipped", reason=DECEASED, finished_at=now)
            return f"skipped: {DECEASED}"
        if c.inactive:  # likewise: made inactive in the PMS after the plan
            self.transition(attempt_id, PENDING, status="skipped", reason=INACTIVE, finished_at=now)
            return f"skipped: {INACTIVE}"
        if c.campaign_kind == recall.RECALL_KIND and c.campaign_created_at is not None:
            # booked, visited or answered since the reminder was planned: the sequence has done its work
            why = recall.stopped(
                self.store,
                c.patient_id,
                c.campaign_created_at,
                self.practice.today(c.campaign_created_at),
                now,
            )
            if why is not None:
                self.transition(attempt_id, PENDING, status="skipped", reason=why, finished_at=now)
                return f"skipped: {why}"
        if trying_to_return(c.booking_attempt_at, now, self.rules.cooldown_days):
            # booking online right now (or lately): a reactivation contact would only get in the way
            self.transition(attempt_id, PENDING, status="skipped", reason=TRYING_TO_RETURN, finished_at=now)
            return f"skipped: {TRYING_TO_RETURN}"
        zone = ZoneInfo(self.practice.timezone)
        if c.sequence and (stop := stop_reason_for(self.store, c.campaign_id, c.patient_id, now, zone)):
            # a response, booking, visit... since the campaign started: the sequence ends before this step
            reason = (STOPPED_PREFIX + stop)[:200]
            self.transition(attempt_id, PENDING, status="skipped", reason=reason, finished_at=now)
            return f"skipped: {reason}"
        limits = self.limits
        if not limits.lock_patient(c.patient_id, attempt_id, LOCK_SECONDS[c.channel]):
            return self._defer(
                attempt_id, now + BUSY_RETRY, "another contact with this patient is in progress"
            )
        keep_lock = False
        try:
            lawful, why = channel_consent(c.channel, c, self.mailer is not None)
            if lawful and c.channel == "sms" and c.purpose == "exempt":
                problem = exempt_text_problem(self.text_for(c), self.practice.name, self.practice.main.phone)
                if problem:
                    lawful, why = False, problem
            stopped = c.opted_out or c.number_revoked
            decision = may_contact(
                now,
                self.zone(c),
                self.contacts_since(c.patient_id, now - WEEK, attempt_id),
                lawful,
                stopped,
                self.rules_for(c),
            )
            if not decision.allowed:
                if decision.retry_at is None:
                    reason = why if not lawful and not stopped else decision.reason
                    self.transition(attempt_id, PENDING, status="skipped", reason=reason, finished_at=now)
                    return f"skipped: {reason}"
                return self._defer(attempt_id, decision.retry_at, decision.reason)
            if c.channel == "ai_call" and not limits.take_call_slot(
                attempt_id, self.rules.max_concurrent_calls, CALL_TIME_LIMIT_S + 120
            ):
                return self._defer(attempt_id, now + FULL_RETRY, "every outbound call line is busy")
            rate = self.rules.calls_per_second if c.channel == "ai_call" else SMS_PER_SECOND
            wait = limits.reserve_send(c.channel, rate, MAX_PACING_WAIT_S) if c.channel != "email" else 0.0
            if wait is None:
                if c.channel == "ai_call":
                    limits.free_call_slot(attempt_id)
                return self._defer(attempt_id, now + dt.timedelta(seconds=MAX_PACING_WAIT_S), "paced")
            if not self._claim(attempt_id, now):
                if self._status(attempt_id) == "sending":
                    keep_lock = True  # the same attempt, claimed by the worker that holds its lock and slot
                    return "claimed by another worker"
                # the patient opted out after the gates read them: never, and nothing held
                if c.channel == "ai_call":
                    limits.free_call_slot(attempt_id)
                self.transition(attempt_id, PENDING, status="skipped", reason="opted out", finished_at=now)
                return "skipped: opted out"
            if wait > 0:
                time.sleep(wait)
            try:
                provider_id = self._deliver(c)
            except Refused as exc:
                self.transition(
                    attempt_id,
                    ("sending",),
                    status="failed",
                    reason=str(exc)[:200],
                    finished_at=utc(self.now()),
                )
                if c.channel == "ai_call":
                    limits.free_call_slot(attempt_id)
                return "failed: refused"
            except Exception:
                # A provider or network failure: back in the queue, and the job's Retry runs it again later.
                tries = self._tries(attempt_id)
                if c.channel == "ai_call":
                    limits.free_call_slot(attempt_id)
                if tries >= MAX_TRIES:
                    self.transition(
                        attempt_id,
                        ("sending",),
                        status="failed",
                        reason="provider unavailable",
                        finished_at=utc(self.now()),
                    )
                    log.warning("attempt %s: failed after %d tries", attempt_id, tries)
                    return "failed: provider unavailable"
                self.transition(attempt_id, ("sending",), status="queued", reason="provider error, retrying")
                raise
            sent_at = utc(self.now())
            self.transition(
                attempt_id,
                ("sending",),
                status="sent",
                sent_at=sent_at,
                provider_id=provider_id,
                cost=self.rules.costs.get(c.channel, 0.0),
                reason="",
                finished_at=None if c.channel == "ai_call" else sent_at,
                result=None if c.channel == "ai_call" else "sent",
            )
            keep_lock = c.channel == "ai_call"  # held until the call's final status
            log.info("attempt %s: %s sent", attempt_id, c.channel)
            self.outcomes.sent(attempt_id)
            return "sent"
        finally:
            if not keep_lock:
                limits.unlock_patient(c.patient_id, attempt_id)

    def _deliver(self, c: Contact) -> str:
        practice = self.practice
        main = practice.main
        if c.channel == "ai_call":
            assert c.phone
            q = f"?attempt={c.attempt_id}"
            return self.twilio.place_call(
                to=c.phone,
                from_=main.phone,
                url=self._url("/voice/outbound" + q),
                status_callback=self._url("/voice/status" + q),
                amd_callback=self._url("/voice/outbound/amd" + q),
                time_limit_s=EXEMPT_CALL_SECONDS if c.purpose == "exempt" else CALL_TIME_LIMIT_S,
            )
        if c.channel == "sms":
            assert c.phone
            return self.twilio.send_sms(
                to=c.phone,
                from_=main.phone,
                body=self.text_for(c),
                status_callback=self._url(f"/sms/status?attempt={c.attempt_id}"),
            )
        mailer = self.mailer
        assert mailer is not None and c.email
        token = new_unsubscribe_link(self.store, c.patient_id, c.attempt_id, self.now())
        link = self._url(f"/unsubscribe/{token}")
        args = (practice.name, c.first_name or None, main.phone, main.hours.describe(), link)
        offer = practice.sequences.offers.get(c.offer) if c.purpose == "marketing" else None
        text = offers.offer_email_text(*args, offer) if offer else contacts.email_text(*args)
        return mailer.send(
            to=c.email,
            subject=contacts.email_subject(practice.name),
            text=text,
            unsubscribe_url=link,
        )

    # -- state changes on the durable log -------------------------------------------------------------------
    def transition(self, attempt_id: str, from_statuses: tuple[str, ...], **values: Any) -> bool:
        """Change an attempt only if it is in one of `from_statuses` (one UPDATE: the winner of a race is the one
        whose row count is 1). Every status change of an attempt goes through here."""
        with self.store.session() as s:
            done = s.execute(
                update(OutreachAttempt)
                .where(OutreachAttempt.id == attempt_id, OutreachAttempt.status.in_(from_statuses))
                .values(**values)
            )
            return bool(done.rowcount)

    def _claim(self, attempt_id: str, now: dt.datetime) -> bool:
        """Queued/deferred -> sending, in one UPDATE that also requires the patient not to be opted out."""
        opted_out = exists().where(Patient.id == OutreachAttempt.patient_id, Patient.opted_out.is_(True))
        with self.store.session() as s:
            done = s.execute(
                update(OutreachAttempt)
                .where(
                    OutreachAttempt.id == attempt_id,
                    OutreachAttempt.status.in_(PENDING),
                    ~opted_out,
                )
                .values(status="sending", claimed_at=now, tries=OutreachAttempt.tries + 1)
            )
            return bool(done.rowcount)

    def _status(self, attempt_id: str) -> str | None:
        with self.store.sessions() as s:
            return s.scalar(select(OutreachAttempt.status).where(OutreachAttempt.id == attempt_id))

    def _tries(self, attempt_id: str) -> int:
        with self.store.sessions() as s:
            return int(s.scalar(select(OutreachAttempt.tries).where(OutreachAttempt.id == attempt_id)) or 0)

    def _defer(self, attempt_id: str, when: dt.datetime, reason: str) -> str:
        """Not now: the row says when and why, and rq's scheduler runs the job again then."""

        if self.transition(attempt_id, PENDING, status="deferred", not_before=when, reason=reason[:200]):
            self.jobs.enqueue_at(when, jobqueue.SEND_ATTEMPT, attempt_id, queue="outreach", **job_options())
        return f"deferred: {reason}"

    # -- after the fact: provider callbacks and dead workers ------------------------------------------------
    def settle_call(self, attempt_id: str, params: CallParams) -> None:
        """A status callback for an outbound call: its final status ends the attempt and frees its holds."""
        status, sid = params.call_status, params.call_sid
        if not params.is_final:
            if status in ("initiated", "ringing", "in-progress"):
                self.adopt(attempt_id, sid)
            return
        self.adopt(attempt_id, sid)
        with self.store.session() as s:
            a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.provider_id != sid:
                return  # not this attempt's call (a forged or stray callback)
            if a.finished_at is None:
                a.finished_at = utc(self.now())
                if a.result is None:  # a voicemail, or a bridge's own result from its <Dial>, stands
                    a.result = "answered" if status == "completed" else status
            patient_id = a.patient_id
        self.outcomes.settled(attempt_id)
        self.outcomes.talked(attempt_id, params.call_duration)
        self.limits.free_call_slot(attempt_id)
        self.limits.unlock_patient(patient_id, attempt_id)

    def adopt(self, attempt_id: str, call_sid: str) -> None:
        """A callback for an attempt whose worker died after placing the call: the call went out, record it."""
        if not call_sid:
            return
        with self.store.sessions() as s:
            channel = s.scalar(select(OutreachAttempt.channel).where(OutreachAttempt.id == attempt_id))
        if channel and self.transition(
            attempt_id,
            ("sending",),
            status="sent",
            sent_at=utc(self.now()),
            provider_id=call_sid,
            cost=self.rules.costs.get(channel, 0.0),
            reason="",
        ):
            self.outcomes.sent(attempt_id)

    def settle_message(self, attempt_id: str, params: MessageParams) -> None:
        if params.status in ("delivered", "undelivered", "failed"):
            with self.store.session() as s:
                a = s.get(OutreachAttempt, attempt_id)
                if a is None or a.provider_id != params.message_sid:
                    return
                a.result = params.status
            self.outcomes.settled(attempt_id)

    def mark_voicemail(self, attempt_id: str, call_sid: str) -> None:
        with self.store.session() as s:
            a = s.get(OutreachAttempt, attempt_id)
            if a is not None and a.provider_id == call_sid:
                a.result = "voicemail"

    def in_flight(self) -> bool:
        """Whether any attempt is still queued, deferred or being sent (reconciling is still worth doing)."""
        with self.store.sessions() as s:
            busy = s.scalar(
                select(OutreachAttempt.id)
                .where(OutreachAttempt.status.in_(("queued", "deferred", "sending")))
                .limit(1)
            )
        return busy is not None

    def reconcile(self, older_than: dt.timedelta = LEASE) -> dict[str, int]:
        """Attempts claimed by a worker that never finished them: recorded if they went out, else queued again."""

        now = utc(self.now())
        with self.store.sessions() as s:
            stuck = s.scalars(
                select(OutreachAttempt.id).where(
                    OutreachAttempt.status == "sending", OutreachAttempt.claimed_at < now - older_than
                )
            ).all()
        counts = {"recorded": 0, "requeued": 0, "failed": 0}
        for attempt_id in stuck:
            c = self.contact(attempt_id)
            with self.store.sessions() as s:
                claimed = utc(s.get(OutreachAttempt, attempt_id).claimed_at)
            if c is None:
                continue
            if c.channel == "email":
                # SMTP cannot be asked what it delivered: rather miss one email than send it twice.
                self.transition(
                    attempt_id,
                    ("sending",),
                    status="failed",
                    finished_at=now,
                    reason="interrupted while sending; not retried, to avoid a duplicate",
                )
                counts["failed"] += 1
                continue
            found = (
                (
                    self.twilio.find_call(to=c.phone, since=claimed)
                    if c.channel == "ai_call"
                    else self.twilio.find_message(to=c.phone, since=claimed)
                )
                if c.phone
                else None
            )
            if found:
                self.transition(
                    attempt_id,
                    ("sending",),
                    status="sent",
                    sent_at=claimed,
                    provider_id=found,
                    cost=self.rules.costs.get(c.channel, 0.0),
                    reason="",
                )
                self.outcomes.sent(attempt_id)
                counts["recorded"] += 1
            elif self.transition(
                attempt_id, ("sending",), status="queued", reason="requeued after an interrupted send"
            ):
                self.jobs.enqueue(jobqueue.SEND_ATTEMPT, attempt_id, queue="outreach", **job_options())
                counts["requeued"] += 1
        if stuck:
            log.info("reconciled interrupted attempts: %s", counts)
        return counts


def schedule_reconcile(jobs: Jobs, seconds: int = 60) -> None:
    """One reconcile job in the schedule at a time (a short-lived marker stops a second one being added)."""
    jobs.once_in(
        keys.outreach_reconcile_marker(),
        seconds - 10,
        dt.timedelta(seconds=seconds),
        jobqueue.RECONCILE,
        queue="outreach",
    )


def job_options(*, bulk: bool = False) -> dict[str, Any]:
    """How every attempt job is enqueued: retried with back-off, kept a while for inspection (`bulk`: the
    spelling `Queue.prepare_data` wants for the timeout)."""
    from rq import Retry

    return {
        "retry": Retry(max=MAX_TRIES - 1, interval=[30, 120, 600]),
        "result_ttl": 3600,
        "failure_ttl": 7 * 86400,
        ("timeout" if bulk else "job_timeout"): 120,
    }
