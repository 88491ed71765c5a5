"""The ASAP list: an opened slot is offered by text to the patients most likely to take it and worth most to
the practice; the first yes books it, everyone after hears it is taken.

How it runs:
1. a slot opens (`opened`: an appointment cancelled on a call, through the API or by staff; `open_slot`: a
   time the PMS or staff say is free): one `AsapOffer` row with the ranked candidates (`rank`), and a batch
   job now;
2. each batch job (`send_batch`) makes the next `batch_size` candidates' attempts (`OutreachAttempt`, id
   `<offer id>:<patient id>`, channel sms, purpose exempt) and enqueues them to the dispatcher, which sends
   each within every gate (opt-out, revoked numbers, consent for texts, the calling hours in the patient's
   zones, the daily and weekly caps across all outreach, the per-patient lock); the next batch follows
   `batch_minutes` later while the offer is open;
3. a reply (`answer`, called by the SMS webhook): "yes" from a patient who was sent the offer wins it in one
   conditional UPDATE (`open` -> `booked`) and books the slot through the schedule's booking path in the same
   transaction (`schedule.book`: all units or none), so two simultaneous yeses book it once; a later yes
   hears it is taken (and a patient who asked stays on the list);
4. the offer closes when it is taken, when the slot is taken elsewhere, or at `expires_at` (`expire`): the
   attempts still waiting are skipped.

An offer is a healthcare message (the patient's own care, COMPLIANCE.md's exemption): its text names the
practice and number first, fits 160 characters, offers STOP and carries no offer or price; the dispatcher
checks that (`gates.exempt_text_problem`) before each send. It names no visit type or reason, only a time,
and asks for "1" (YES is a carrier opt-in keyword that some platforms answer on their own; yes books too).

Measured on this shared 2-core machine (SQLite): ranking an opened slot takes 14 ms on 10,000 scored patients
and 39 ms (best of 5; median 79 ms) on 100,000: one indexed read of the open requests, one of the due or
lapsed patients by value (`max_candidates * CANDIDATE_POOL` rows at most), then the finer filters in Python.
It runs in a job; the webhook's part (`answer`) is a set look-up, then a few indexed reads for a yes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import Integer, and_, func, or_, select, update

from receptionist import jobqueue
from receptionist.clock import Clock, utc
from receptionist.config.practice import AsapRules, Location, Practice
from receptionist.config.visit_types import VisitType
from receptionist.jobqueue import Jobs
from receptionist.outreach.dispatch import Contact, job_options
from receptionist.outreach.optout import patients_with_phone
from receptionist.scheduling.schedule import Overlaps, SlotTaken, book, opening_at, release
from receptionist.store import (
    Appointment,
    AsapOffer,
    AsapRequest,
    ConsentEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
    PatientScore,
    ScoreRun,
    Slot,
    Store,
)
from receptionist.store.asap import OFFER_PREFIX
from receptionist.wording.contacts import SMS_LIMIT, _plain, spoken_phone
from receptionist.wording.lines import lines

log = logging.getLogger(__name__)

REPLY_WINDOW = dt.timedelta(days=2)  # a reply answers an offer texted this recently
VALUE_FLOOR = 150.0  # dollars: the value of a patient with no score yet (about one visit)
# P(accept) priors (see `likelihood`)
P_ASKED, P_DUE, P_LAPSED = 0.6, 0.15, 0.05
SHORT_NOTICE = dt.timedelta(hours=24)
CANDIDATE_POOL = 20  # due or lapsed patients read per wanted candidate, before the finer filters


# -- pure decisions -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    patient_id: str
    request_id: int | None  # the patient's open request this offer answers, if they asked
    value: float  # dollars over the next 12 months
    p_accept: float
    tier: str = "low"

    @property
    def expected(self) -> float:
        return self.value * self.p_accept


def likelihood(*, asked: bool, lapsed: bool, p_alive: float, notice: dt.timedelta) -> float:
    """How likely a patient is to take an opened time, from what we know (priors, not yet learned):
    - a patient who asked for an earlier time: `P_ASKED` (they said they want one);
    - otherwise a patient due for a visit: `P_DUE`, a lapsed one `P_LAPSED`, each scaled by the score run's
      probability that they are still a patient of the practice (between half and all of the prior);
    - a time less than a day away halves the chance of someone who did not ask (plans are made).
    """
    if asked:
        return P_ASKED
    base = (P_LAPSED if lapsed else P_DUE) * (0.5 + 0.5 * min(max(p_alive, 0.0), 1.0))
    return base * (0.5 if notice < SHORT_NOTICE else 1.0)


def rank(candidates: Iterable[Candidate], limit: int) -> list[Candidate]:
    """Best first by expected value: the patient's value over the next 12 months (the score run's
    `expected_value_12m`, at least `VALUE_FLOOR`) times their likelihood to accept (`likelihood`); ties go
    to the patient who asked, then the earlier request, then the patient id. One entry per patient."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        old = best.get(c.patient_id)
        if old is None or (c.expected, c.request_id is not None) > (old.expected, old.request_id is not None):
            best[c.patient_id] = c
    ordered = sorted(
        best.values(),
        key=lambda c: (-c.expected, c.request_id is None, c.request_id or 0, c.patient_id),
    )
    return ordered[:limit]


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    plain = plain.replace("'", "").replace("\u2019", "")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


@functools.lru_cache(maxsize=4)
def _replies(language: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    path = resources.files("receptionist.languages").joinpath(language, "asap.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    fillers = tuple(sorted((_fold(f) for f in data.get("fillers", [])), key=len, reverse=True))
    return (
        frozenset(_fold(w) for w in data.get("accept", [])),
        frozenset(_fold(w) for w in data.get("decline", [])),
        fillers,
    )


def reply_kind(body: str, languages: Sequence[str] = ("en", "es")) -> str | None:
    """ "accept", "decline" or None (not an answer to an offer) for a text's whole body, in any language's
    words (`languages/<code>/asap.toml`): "yes", "1", "I'll take it", "sí" accept; "no", "2" decline."""
    for language in languages:
        accept, decline, fillers = _replies(language)
        text = f" {_fold(body)} "
        for filler in fillers:
            text = text.replace(f" {filler} ", " ")
        text = " ".join(text.split())
        if text in accept:
            return "accept"
        if text in decline:
            return "decline"
    return None


def expiry(now: dt.datetime, start: dt.datetime, expire_hours: float, lead_minutes: int) -> dt.datetime:
    """When an offer closes: `expire_hours` after it opens, or `lead_minutes` before the slot, if sooner."""
    return min(now + dt.timedelta(hours=expire_hours), start - dt.timedelta(minutes=lead_minutes))


def when_text(start: dt.datetime, language: str) -> str:
    """ "Tue 12/8 at 10:30 AM" (the location's local time), in the patient's language."""
    say = lines(language)
    weekday = say.say("asap.weekdays").split()[start.weekday()]
    if language == "en":
        time = f"{start.hour % 12 or 12}:{start.minute:02d} {'AM' if start.hour < 12 else 'PM'}"
    else:
        time = f"{start.hour}:{start.minute:02d}"
    return say.say("asap.when", weekday=weekday, month=start.month, day=start.day, time=time)


def offer_text(practice: str, phone: str, start: dt.datetime, language: str = "en") -> str:
    """The offer: the practice's name and number first, the time, how to take it and how to opt out."""
    say, when = lines(language), when_text(start, language)
    name = _plain(practice)[:60] or "Your practice"
    for key in ("asap.offer", "asap.offer_short"):
        text = say.say(key, head=f"{name} {spoken_phone(phone)}:", when=when)
        if len(text) <= SMS_LIMIT:
            return text
    over = len(text) - SMS_LIMIT  # a very long name: cut to fit (the exemption keeps it first)
    return say.say(key, head=f"{name[: len(name) - over].rstrip()} {spoken_phone(phone)}:", when=when)


# -- the component --------------------------------------------------------------------------------------------
class Asap:
    """The ASAP list over the store: requests, offers, their batches, replies and expiry."""

    def __init__(self, *, store: Store, practice: Practice, now: Clock, jobs: Jobs) -> None:
        self.store = store
        self.practice = practice
        self.now = now
        self.jobs = jobs

    @property
    def rules(self) -> AsapRules:
        return self.practice.asap

    # -- requests --------------------------------------------------------------------------------------------
    def request(
        self,
        patient_id: str,
        *,
        visit_type: str = "",
        location_id: str = "",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        appointment_id: int | None = None,
        via: str = "staff",
    ) -> int:
        """Put a patient on the list (one open request per patient and visit type: asking again updates it).
        Raises ValueError for an unknown patient, visit type, location or appointment."""
        if visit_type and self.practice.visit_type(visit_type) is None:
            raise ValueError(f"visit_type: {visit_type!r} is not a visit type of the practice")
        if location_id and location_id not in {loc.id for loc in self.practice.locations}:
            raise ValueError(f"location_id: {location_id!r} is not a location of the practice")
        with self.store.session() as s:
            if s.get(Patient, patient_id) is None:
                raise ValueError(f"patient_id: no patient {patient_id!r}")
            if appointment_id is not None:
                appt = s.get(Appointment, appointment_id)
                if appt is None or appt.patient_id != patient_id or appt.status != "booked":
                    raise ValueError(f"appointment_id: no booked visit {appointment_id} of this patient")
                until = until or utc(appt.start)
                visit_type = visit_type or (appt.kind if self.practice.visit_type(appt.kind) else "")
            row = s.scalar(
                select(AsapRequest).where(
                    AsapRequest.patient_id == patient_id,
                    AsapRequest.status == "open",
                    AsapRequest.visit_type == visit_type,
                )
            )
            if row is None:
                row = AsapRequest(patient_id=patient_id, visit_type=visit_type, status="open")
                s.add(row)
            row.location_id, row.since, row.until, row.via = location_id, since, until, via
            row.appointment_id = appointment_id
            s.flush()
            return int(row.id)

    def withdraw(self, request_id: int) -> bool:
        with self.store.session() as s:
            done = s.execute(
                update(AsapRequest)
                .where(AsapRequest.id == request_id, AsapRequest.status == "open")
                .values(status="withdrawn", closed_at=self.now())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    # -- a slot opens ----------------------------------------------------------------------------------------
    def opened(self, appointment_id: int, why: str = "cancelled") -> str | None:
        """A cancelled (or moved) appointment's time, offered to the list; None when it is not worth offering
        (past, too soon, already booked again, or no visit type fits it)."""
        with self.store.sessions() as s:
            appt = s.get(Appointment, appointment_id)
            if appt is None or appt.status == "booked":
                return None
            unit = s.scalar(
                select(Slot.id).where(
                    Slot.location_id == appt.location_id,
                    Slot.provider == appt.provider,
                    Slot.start >= utc(appt.start),
                    Slot.start < utc(appt.start) + dt.timedelta(minutes=1),
                )
            )
            kind, minutes, location_id, provider = appt.kind, appt.minutes, appt.location_id, appt.provider
            patient = appt.patient_id
        if unit is None:
            return None
        visit = self.practice.visit_type(kind) or next(
            (
                v
                for v in self.practice.visit_types
                if provider in v.providers and v.minutes == minutes and not v.urgent
            ),
            None,
        )
        if visit is None:
            return None
        return self.open_slot(location_id, int(unit), visit.id, why=why, exclude=(patient,))

    def open_slot(
        self,
        location_id: str,
        unit_id: int,
        visit_type: str,
        *,
        why: str = "staff",
        exclude: Sequence[str] = (),
    ) -> str | None:
        """Offer the opening for `visit_type` that starts at schedule unit `unit_id` (still free, far enough
        ahead): the offer's id, the open one's when that time is already on offer; None when there is nothing
        to offer or nobody to offer it to."""
        location = self._location(location_id)
        visit = self.practice.visit_type(visit_type)
        if location is None or visit is None:
            raise ValueError("no such location or visit type")
        now = utc(self.now())
        with self.store.sessions() as s:
            existing = s.scalar(
                select(AsapOffer.id).where(AsapOffer.unit_id == unit_id, AsapOffer.status == "open")
            )
            if existing:
                return str(existing)
            opening = opening_at(s, unit_id, visit, location)
        if opening is None:
            return None
        expires = expiry(now, utc(opening.start), self.rules.expire_hours, self.rules.lead_minutes)
        if expires <= now:
            return None
        ranked = rank(
            self.candidates(location, visit, utc(opening.start), now, exclude=exclude),
            self.rules.max_candidates,
        )
        if not ranked:
            return None
        offer_id = OFFER_PREFIX + secrets.token_hex(8)
        with self.store.session() as s:
            s.add(
                AsapOffer(
                    id=offer_id,
                    location_id=location.id,
                    provider=opening.provider,
                    unit_id=unit_id,
                    start=utc(opening.start),
                    minutes=opening.minutes,
                    visit_type=visit.id,
                    why=why,
                    status="open",
                    created_at=now,
                    expires_at=expires,
                    ranked=[
                        {"patient": c.patient_id, "request": c.request_id, "tier": c.tier} for c in ranked
                    ],
                    offered=0,
                )
            )
        self.jobs.enqueue(jobqueue.ASAP_BATCH, offer_id, queue="outreach")
        self.jobs.enqueue_at(expires, jobqueue.ASAP_EXPIRE, offer_id, queue="outreach")
        log.info("asap offer %s: %d candidates, closes %s", offer_id, len(ranked), expires.isoformat())
        return offer_id

    def candidates(
        self,
        location: Location,
        visit: VisitType,
        start: dt.datetime,
        now: dt.datetime,
        *,
        exclude: Sequence[str] = (),
    ) -> list[Candidate]:
        """Who may be offered this time: patients who asked for an earlier one that fits it (type, location,
        their since/until), and patients of the latest score run who are due (no visit for the type's
        `recall_months`, else `due_after_days`) or lapsed and fit the visit type; only those a text may
        reach at all (a phone, consent to texts, not opted out, active, no revoked number, texts not
        refused) and who have no visit at that time or a booked one coming (unless they asked to come
        earlier)."""
        today = self.practice.today(now)
        notice = start - now
        # due: no visit for the type's recall interval (a hygiene visit's 6 months), else `due_after_days`
        due_days = round(visit.recall_months * 30.44) if visit.recall_months else self.rules.due_after_days
        due_before = today - dt.timedelta(days=due_days)
        with self.store.sessions() as s:
            run_id = s.scalar(select(ScoreRun.id).order_by(ScoreRun.created_at.desc()).limit(1))
            requests = s.execute(
                select(AsapRequest.id, AsapRequest.patient_id).where(
                    AsapRequest.status == "open",
                    AsapRequest.visit_type.in_(("", visit.id)),
                    AsapRequest.location_id.in_(("", location.id)),
                    or_(AsapRequest.since.is_(None), AsapRequest.since <= start),
                    or_(AsapRequest.until.is_(None), AsapRequest.until > start),
                )
            ).all()
            asked = {pid: int(rid) for rid, pid in sorted(requests, reverse=True)}  # the earliest wins
            pool: list[str] = list(asked)
            if run_id is not None:
                pool += s.scalars(
                    select(PatientScore.patient_id)
                    .where(
                        PatientScore.run_id == run_id,
                        or_(PatientScore.lapsed.is_(True), PatientScore.last_visit <= due_before),
                    )
                    .order_by(PatientScore.expected_value_12m.desc(), PatientScore.patient_id)
                    .limit(self.rules.max_candidates * CANDIDATE_POOL)
                ).all()
            pool = [p for p in dict.fromkeys(pool) if p not in set(exclude)]
            if not pool:
                return []
            patients = {
                p.id: p
                for p in s.scalars(
                    select(Patient).where(
                        Patient.id.in_(pool),
                        Patient.opted_out.is_(False),
                        Patient.consent_sms.is_(True),
                        Patient.status == "active",
                    )
                )
            }
            phones: dict[str, str] = {}
            for pid, phone in s.execute(
                select(PatientPhone.patient_id, PatientPhone.phone)
                .where(PatientPhone.patient_id.in_(list(patients)))
                .order_by(PatientPhone.position.desc(), PatientPhone.phone.desc())
            ):
                phones[pid] = phone  # the first number (position order) wins
            revoked = set(
                s.scalars(select(ConsentEvent.phone).where(ConsentEvent.phone.in_(list(phones.values()))))
            )
            scores = {
                sc.patient_id: sc
                for sc in s.scalars(
                    select(PatientScore).where(
                        PatientScore.run_id == run_id, PatientScore.patient_id.in_(list(patients))
                    )
                )
            }
            end = start + dt.timedelta(minutes=visit.minutes)
            busy = set(
                s.scalars(
                    select(Appointment.patient_id).where(
                        Appointment.patient_id.in_(list(patients)),
                        Appointment.status == "booked",
                        or_(
                            and_(Appointment.start >= now, ~Appointment.patient_id.in_(list(asked))),
                            and_(Appointment.start < end, Appointment.start >= start - dt.timedelta(hours=8)),
                        ),
                    )
                )
            )
        out = []
        for pid in pool:
            p = patients.get(pid)
            number = phones.get(pid)
            if p is None or number is None or number in revoked or pid in busy:
                continue
            if (p.contact_preferences or {}).get("text") is False:
                continue
            score = scores.get(pid)
            age = _age(p.date_of_birth, today)
            if not visit.fits(new_patient=score is None and pid not in asked, age=age):
                continue
            value = max(score.expected_value_12m if score else 0.0, VALUE_FLOOR)
            request = asked.get(pid)
            p_accept = likelihood(
                asked=request is not None,
                lapsed=bool(score and score.lapsed),
                p_alive=score.p_alive if score else 0.5,
                notice=notice,
            )
            out.append(Candidate(pid, request, value, p_accept, score.tier if score else "low"))
        return out

    # -- batches and expiry (jobs) ---------------------------------------------------------------------------
    def send_batch(self, offer_id: str) -> str:
        """The next batch of an open offer: its attempts, queued to the dispatcher; the one after in
        `batch_minutes`. Nothing when the offer closed, expired or the slot went."""
        now = utc(self.now())
        with self.store.sessions() as s:
            offer = s.get(AsapOffer, offer_id)
            if offer is None or offer.status != "open":
                return "closed"
            if utc(offer.expires_at) <= now:
                return self.expire(offer_id)
            visit = self.practice.visit_type(offer.visit_type)
            location = self._location(offer.location_id)
            still = visit and location and opening_at(s, offer.unit_id, visit, location)
        if not still:
            self._close(offer_id, "gone")
            return "gone"
        batch = list(offer.ranked[offer.offered : offer.offered + self.rules.batch_size])
        ids = []
        with self.store.session() as s:
            moved = s.execute(
                update(AsapOffer)
                .where(
                    AsapOffer.id == offer_id, AsapOffer.offered == offer.offered, AsapOffer.status == "open"
                )
                .values(offered=offer.offered + len(batch))
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return "another worker sent this batch"
            for i, entry in enumerate(batch):
                attempt_id = f"{offer_id}:{entry['patient']}"
                if s.get(OutreachAttempt, attempt_id) is not None:
                    continue
                s.add(
                    OutreachAttempt(
                        id=attempt_id,
                        campaign_id=offer_id,
                        patient_id=entry["patient"],
                        tier=entry.get("tier") or "low",
                        channel="sms",
                        purpose="exempt",
                        rank=offer.offered + i + 1,
                        status="queued",
                    )
                )
                ids.append(attempt_id)
        if ids:
            self.jobs.enqueue_many(
                jobqueue.SEND_ATTEMPT, [(a,) for a in ids], queue="outreach", **job_options(bulk=True)
            )
        if offer.offered + len(batch) < len(offer.ranked):
            self.jobs.enqueue_in(
                dt.timedelta(minutes=self.rules.batch_minutes),
                jobqueue.ASAP_BATCH,
                offer_id,
                queue="outreach",
            )
        return f"sent a batch of {len(ids)}"

    def expire(self, offer_id: str) -> str:
        """Close an offer whose time is up; run early, it looks again when the time comes."""
        now = utc(self.now())
        with self.store.session() as s:
            done = s.execute(
                update(AsapOffer)
                .where(AsapOffer.id == offer_id, AsapOffer.status == "open", AsapOffer.expires_at <= now)
                .values(status="expired", closed_at=now)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                _skip_waiting(s, offer_id, "the offer expired", now)
                return "expired"
            offer = s.get(AsapOffer, offer_id)
            if offer is None or offer.status != "open":
                return "closed"
            left = utc(offer.expires_at) - now
        # the scheduler keeps the system's time and the product may keep another (RECEPTIONIST_CLOCK)
        self.jobs.enqueue_in(left, jobqueue.ASAP_EXPIRE, offer_id, queue="outreach")
        return "not expired"

    def _close(self, offer_id: str, status: str) -> None:
        now = utc(self.now())
        with self.store.session() as s:
            done = s.execute(
                update(AsapOffer)
                .where(AsapOffer.id == offer_id, AsapOffer.status == "open")
                .values(status=status, closed_at=now)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                _skip_waiting(s, offer_id, "the time was taken", now)

    # -- the dispatcher's questions about our attempts (`Dispatcher.sources`) ---------------------------------
    def campaign_status(self, campaign_id: str) -> str:
        """ "running" while the offer is open and unexpired, else "done" (nothing more is sent for it)."""
        with self.store.sessions() as s:
            offer = s.get(AsapOffer, campaign_id)
        if offer is None or offer.status != "open" or utc(offer.expires_at) <= utc(self.now()):
            return "done"
        return "running"

    def text(self, c: Contact) -> str:
        with self.store.sessions() as s:
            offer = s.get(AsapOffer, c.campaign_id)
        location = self._location(offer.location_id if offer else "") or self.practice.main
        start = utc(offer.start) if offer else utc(self.now())
        return offer_text(
            self.practice.name, location.phone, location.local_time(start), _language(c.preferences)
        )

    # -- replies ---------------------------------------------------------------------------------------------
    def answer(self, sender: str | None, body: str) -> str | None:
        """The reply to a text that answers an ASAP offer this number was sent (None: it is not one, and the
        webhook answers as it would otherwise). "yes" books the time if it is still open."""
        kind = reply_kind(body)
        if kind is None or not sender:
            return None
        patients = patients_with_phone(self.store, sender)
        if not patients:
            return None
        now = utc(self.now())
        with self.store.sessions() as s:
            row = s.execute(
                select(OutreachAttempt.campaign_id, OutreachAttempt.patient_id)
                .where(
                    OutreachAttempt.patient_id.in_(patients),
                    OutreachAttempt.campaign_id.like(OFFER_PREFIX + "%"),
                    OutreachAttempt.status == "sent",
                    OutreachAttempt.sent_at >= now - REPLY_WINDOW,
                )
                .order_by(OutreachAttempt.sent_at.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            offer_id, patient_id = row
            p = s.get(Patient, patient_id)
            language = _language(p.contact_preferences if p else None)
            listed = s.scalar(
                select(func.count())
                .select_from(AsapRequest)
                .where(AsapRequest.patient_id == patient_id, AsapRequest.status == "open")
            )
        if kind == "decline":
            return self._say(language, "declined", tail=bool(listed))
        return self.take(offer_id, patient_id, language=language)

    def take(self, offer_id: str, patient_id: str, *, language: str = "en") -> str:
        """The patient takes the offer: booked if it is still theirs to take, else why not."""
        now = utc(self.now())
        with self.store.sessions() as s:
            offer = s.get(AsapOffer, offer_id)
        if offer is None:
            return self._say(language, "expired", tail=False)
        location = self._location(offer.location_id) or self.practice.main
        visit = self.practice.visit_type(offer.visit_type)
        old_start: dt.datetime | None = None
        freed: int | None = None
        try:
            with self.store.session() as s:
                # the first statement takes the write lock: a second yes waits here, then finds it booked
                won = s.execute(
                    update(AsapOffer)
                    .where(AsapOffer.id == offer_id, AsapOffer.status == "open", AsapOffer.expires_at > now)
                    .values(status="booked", patient_id=patient_id, closed_at=now)
                )
                if not won.rowcount:  # type: ignore[attr-defined]
                    raise _Lost
                opening = opening_at(s, offer.unit_id, visit, location) if visit else None
                if opening is None:
                    raise SlotTaken(offer.unit_id)
                request = s.scalar(
                    select(AsapRequest)
                    .where(
                        AsapRequest.patient_id == patient_id,
                        AsapRequest.status == "open",
                        AsapRequest.visit_type.in_(("", offer.visit_type)),
                    )
                    .order_by(AsapRequest.id)
                    .limit(1)
                )
                replacing = None
                if request is not None and request.appointment_id is not None:
                    old = s.get(Appointment, request.appointment_id)
                    if old is not None and old.status == "booked" and utc(old.start) > utc(opening.start):
                        release(s, old)
                        old.status = "cancelled"
                        replacing, freed = old.id, old.id
                        old_start = location.local_time(utc(old.start))
                appointment = book(
                    s,
                    opening,
                    patient_id,
                    offer.visit_type,
                    location_id=location.id,
                    via="asap",
                    replacing=replacing,
                )
                s.execute(
                    update(AsapOffer).where(AsapOffer.id == offer_id).values(appointment_id=appointment.id)
                )
                if request is not None:
                    request.status, request.closed_at = "filled", now
                _skip_waiting(s, offer_id, "the time was taken", now)
        except _Lost:
            return self._taken(offer_id, patient_id, language)
        except SlotTaken:
            self._close(offer_id, "gone")
            return self._taken(offer_id, patient_id, language)
        except Overlaps:
            return self._say(language, "overlap", tail=False, phone=location.phone)
        log.info("asap offer %s: booked", offer_id)
        when = when_text(location.local_time(utc(offer.start)), language)
        if freed is not None:
            self.jobs.enqueue(jobqueue.ASAP_OPENED, freed, "moved", queue="outreach")
        say = lines(language)
        if old_start is not None:
            return say.say(
                "asap.moved",
                practice=self.practice.name,
                when=when,
                old=when_text(old_start, language),
                phone=spoken_phone(location.phone),
            )
        return say.say(
            "asap.booked", practice=self.practice.name, when=when, phone=spoken_phone(location.phone)
        )

    def _taken(self, offer_id: str, patient_id: str, language: str) -> str:
        with self.store.sessions() as s:
            offer = s.get(AsapOffer, offer_id)
            listed = s.scalar(
                select(func.count())
                .select_from(AsapRequest)
                .where(AsapRequest.patient_id == patient_id, AsapRequest.status == "open")
            )
        key = "expired" if offer is not None and offer.status in ("open", "expired") else "taken"
        return self._say(language, key, tail=bool(listed), taken_tail=True)

    def _say(self, language: str, key: str, *, tail: bool, taken_tail: bool = False, phone: str = "") -> str:
        say = lines(language)
        number = spoken_phone(phone or self.practice.main.phone)
        text = say.say(f"asap.{key}", practice=self.practice.name, phone=number)
        if tail:
            text += " " + say.say("asap.keep_listed")
        elif taken_tail:
            text += " " + say.say("asap.call_to_book", phone=number)
        return text

    # -- look-ups for the edges -------------------------------------------------------------------------------
    def booked_by_external(self, external_ids: Sequence[str]) -> list[int]:
        """Our ids of the PMS's appointments among these that are booked now (about to be cancelled)."""
        if not external_ids:
            return []
        with self.store.sessions() as s:
            return list(
                s.scalars(
                    select(Appointment.id).where(
                        Appointment.external_id.in_(list(external_ids)), Appointment.status == "booked"
                    )
                )
            )

    def by_external(self, external_id: str) -> int | None:
        with self.store.sessions() as s:
            found = s.scalar(select(Appointment.id).where(Appointment.external_id == external_id))
            return int(found) if found is not None else None

    def unit_at(self, location_id: str, provider: str, start: dt.datetime) -> int | None:
        """The schedule unit of this provider that starts at `start` (within the minute)."""
        with self.store.sessions() as s:
            found = s.scalar(
                select(Slot.id).where(
                    Slot.location_id == location_id,
                    Slot.provider == provider,
                    Slot.start >= utc(start),
                    Slot.start < utc(start) + dt.timedelta(minutes=1),
                )
            )
            return int(found) if found is not None else None

    # -- reading: the CLI and the dashboard ------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        """Open requests and offers in flight, ids and times only (no names or numbers)."""
        now = utc(self.now())
        with self.store.sessions() as s:
            requests = s.scalars(
                select(AsapRequest).where(AsapRequest.status == "open").order_by(AsapRequest.created_at)
            ).all()
            offers = s.scalars(
                select(AsapOffer)
                .where(or_(AsapOffer.status == "open", AsapOffer.closed_at >= now - dt.timedelta(days=1)))
                .order_by(AsapOffer.start)
            ).all()
            counts = {
                cid: {"sent": sent or 0, "waiting": waiting or 0}
                for cid, sent, waiting in s.execute(
                    select(
                        OutreachAttempt.campaign_id,
                        func.sum((OutreachAttempt.status == "sent").cast(Integer)),
                        func.sum(OutreachAttempt.status.in_(("queued", "deferred", "sending")).cast(Integer)),
                    )
                    .where(OutreachAttempt.campaign_id.in_([o.id for o in offers]))
                    .group_by(OutreachAttempt.campaign_id)
                )
            }
        return {
            "requests": [
                {
                    "id": r.id,
                    "patient_id": r.patient_id,
                    "visit_type": r.visit_type or None,
                    "location_id": r.location_id or None,
                    "since": _iso(r.since),
                    "until": _iso(r.until),
                    "via": r.via,
                    "created_at": _iso(r.created_at),
                }
                for r in requests
            ],
            "offers": [
                {
                    "id": o.id,
                    "status": o.status,
                    "location_id": o.location_id,
                    "visit_type": o.visit_type,
                    "start": _iso(o.start),
                    "expires_at": _iso(o.expires_at),
                    "candidates": len(o.ranked or []),
                    "offered": o.offered,
                    "texts_sent": counts.get(o.id, {}).get("sent", 0),
                    "texts_waiting": counts.get(o.id, {}).get("waiting", 0),
                    "booked_patient_id": o.patient_id,
                }
                for o in offers
            ],
        }

    def _location(self, location_id: str) -> Location | None:
        return next((loc for loc in self.practice.locations if loc.id == location_id), None)


class _Lost(Exception):
    """Someone else's yes won the offer first (or it closed)."""


def _skip_waiting(s: Any, offer_id: str, reason: str, now: dt.datetime) -> None:
    """The offer's attempts not yet sent will not be: skipped, with why."""
    s.execute(
        update(OutreachAttempt)
        .where(OutreachAttempt.campaign_id == offer_id, OutreachAttempt.status.in_(("queued", "deferred")))
        .values(status="skipped", reason=reason, finished_at=now)
    )


def _language(preferences: dict[str, Any] | None) -> str:
    language = str((preferences or {}).get("language") or "en")
    return language if language in ("en", "es") else "en"


def _age(dob: dt.date | None, today: dt.date) -> int | None:
    if dob is None:
        return None
    return max(today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day)), 0)


def _iso(value: dt.datetime | None) -> str | None:
    return utc(value).isoformat() if value is not None else None
