"""Online booking events and intake updates: each stored once by its `event_id`, applied to the patient at once.

A booking attempt (started, abandoned or completed) by a known patient marks them "trying to return": the
planner leaves them out and the dispatcher skips their queued contacts for the cool-down, and a completed
booking is an outcome (`booked`, a response to the last contact within the attribution window). An intake update
changes contact details, preferences, consents and the address the way an import does (a changed zip is kept
and a move away feeds the likelihood to return), and asks for a re-score.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from receptionist import jobqueue
from receptionist.clock import utc
from receptionist.integrations.context import IntegrationContext
from receptionist.integrations.doubts import provider_doubt, warning
from receptionist.integrations.errors import ApiError, invalid
from receptionist.integrations.pms import _hold_slot, e164_phones
from receptionist.integrations.schemas import BookingEvent, IntakeUpdate
from receptionist.outreach import optout
from receptionist.patients.cache import CacheUnavailable
from receptionist.phones import InvalidPhone, to_e164
from receptionist.store import IntegrationEvent, Patient, PatientPhone, PatientScore, ScoreRun, keys
from receptionist.store.schedule import Appointment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    body: dict[str, Any]
    duplicate: bool = False


def _stored(services: IntegrationContext, key_id: str, event_id: str) -> Applied | None:
    with services.store.sessions() as s:
        row = s.scalar(
            select(IntegrationEvent).where(
                IntegrationEvent.key_id == key_id, IntegrationEvent.event_id == event_id
            )
        )
    return None if row is None else Applied({**row.result, "duplicate": True}, duplicate=True)


def _find_patient(s, event: BookingEvent) -> str | None:
    if event.patient_id:
        if s.get(Patient, event.patient_id) is not None:
            return event.patient_id
    if event.phone:
        try:
            phone = to_e164(event.phone)
        except InvalidPhone as exc:
            raise invalid("phone", str(exc)) from None
        found = s.scalars(
            select(PatientPhone.patient_id)
            .where(PatientPhone.phone == phone)
            .order_by(PatientPhone.patient_id)
            .limit(1)
        ).first()
        if found:
            return found
    if event.email:
        found = s.scalars(
            select(Patient.id).where(Patient.email == event.email.lower()).order_by(Patient.id).limit(1)
        ).first()
        if found:
            return found
    return None


def _lapsed(s, patient_id: str) -> bool | None:
    return s.scalar(
        select(PatientScore.lapsed)
        .join(ScoreRun, ScoreRun.id == PatientScore.run_id)
        .where(PatientScore.patient_id == patient_id)
        .order_by(ScoreRun.created_at.desc())
        .limit(1)
    )


def booking_event(services: IntegrationContext, key_id: str, event: BookingEvent) -> Applied:
    if event.type == "completed" and event.appointment is None:
        raise invalid("appointment", "required when type is completed")
    seen = _stored(services, key_id, event.event_id)
    if seen is not None:
        return seen
    now = utc(services.now())
    at = utc(event.occurred_at or now)
    result: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "duplicate": False,
        "patient_id": None,
        "trying_to_return": False,
        "lapsed": None,
        "appointment": None,
        "warnings": [],
    }
    if event.type == "completed" and event.appointment is not None:
        a = event.appointment
        if a.location_id and a.location_id not in {loc.id for loc in services.practice.locations}:
            raise invalid("appointment.location_id", f"{a.location_id} is not a location of the practice")
        doubt = provider_doubt(
            services.practice, a.location_id or services.practice.main.id, a.provider, "appointment.provider"
        )
        if doubt:
            result["warnings"].append(doubt)
    try:
        with services.store.session() as s:
            pid = _find_patient(s, event)
            if pid is not None:
                patient = s.get(Patient, pid)
                previous = patient.booking_attempt_at
                if previous is None or utc(previous) < at:
                    patient.booking_attempt_at = at
                result.update(patient_id=pid, trying_to_return=True, lapsed=_lapsed(s, pid))
                if event.type == "completed":
                    result["appointment"] = _online_appointment(s, services, pid, event)
            else:
                asked = (
                    "patient_id"
                    if event.patient_id
                    else "phone"
                    if event.phone
                    else "email"
                    if event.email
                    else "patient_id"
                )
                result["warnings"].append(
                    warning(
                        asked,
                        "matches no patient: the event is stored, marked to no one"
                        + (" and its appointment is not booked" if event.type == "completed" else ""),
                    )
                )
            s.add(
                IntegrationEvent(
                    key_id=key_id,
                    event_id=event.event_id,
                    kind=f"booking_{event.type}",
                    patient_id=pid,
                    received_at=now,
                    result=result,
                )
            )
    except IntegrityError:  # the same event delivered twice at once: the other delivery stored it
        seen = _stored(services, key_id, event.event_id)
        if seen is not None:
            return seen
        raise
    if event.type == "completed" and result["patient_id"]:
        services.outcomes.booked_online(result["patient_id"], f"{key_id}:{event.appointment.id}", at)
    if result["patient_id"]:
        log.info("booking %s for patient %s (event %s)", event.type, result["patient_id"], event.event_id)
    return Applied(result)


def _online_appointment(s, services: IntegrationContext, pid: str, event: BookingEvent) -> dict[str, Any]:
    a = event.appointment
    assert a is not None
    start = utc(a.start)
    row = s.scalar(select(Appointment).where(Appointment.external_id == a.id))
    if row is None:
        row = Appointment(external_id=a.id, patient_id=pid, booked_via="online")
        s.add(row)
    row.location_id = a.location_id or services.practice.main.id
    row.provider, row.start, row.minutes, row.kind, row.status = (
        a.provider,
        start,
        a.minutes,
        a.kind,
        "booked",
    )
    s.flush()
    _hold_slot(s, row)
    return {"id": a.id, "start": start.isoformat()}


LIFE_EVENTS_MOVING = {"moved"}


def intake_update(services: IntegrationContext, key_id: str, update: IntakeUpdate) -> Applied:
    seen = _stored(services, key_id, update.event_id)
    if seen is not None:
        return seen
    phones = None if update.phones is None else e164_phones(update.phones, "phones")
    now = utc(services.now())
    today = services.practice.today(now)
    changed: list[str] = []
    opt_out_how: str | None = None
    if phones is not None:
        try:
            services.publish_cache.phones_changed()
        except CacheUnavailable:
            raise ApiError(
                503,
                "cache_unavailable",
                "the tier cache cannot be told that phones change; nothing was changed, try again",
            ) from None
    try:
        with services.store.session() as s:
            p = s.get(Patient, update.patient_id)
            if p is None:
                raise ApiError(404, "unknown_patient", f"patient_id: {update.patient_id} is not known")
            for name in ("first_name", "last_name"):
                value = getattr(update, name)
                if value is not None and value != getattr(p, name):
                    setattr(p, name, value)
                    changed.append(name)
            if update.email is not None and update.email.lower() != p.email:
                p.email = update.email.lower()
                changed.append("email")
            if phones is not None:
                old = list(
                    s.scalars(
                        select(PatientPhone.phone)
                        .where(PatientPhone.patient_id == p.id)
                        .order_by(PatientPhone.position)
                    )
                )
                if old != phones:
                    for row in s.scalars(select(PatientPhone).where(PatientPhone.patient_id == p.id)):
                        s.delete(row)
                    s.flush()
                    s.add_all(
                        PatientPhone(patient_id=p.id, phone=ph, position=i) for i, ph in enumerate(phones)
                    )
                    changed.append("phones")
            if update.address is not None:
                new_zip = update.address.zip[:5]
                if new_zip != p.zip:
                    if p.zip:  # as the importer does: the old zip is kept, a new 3-digit area is a move away
                        p.previous_zip, p.zip_changed_on = p.zip, today
                        p.moved_away = p.zip[:3] != new_zip[:3]
                    p.zip = new_zip
                    changed.append("zip")
            if update.contact_preferences is not None:
                prefs = dict(p.contact_preferences or {})
                prefs.update(update.contact_preferences.model_dump(exclude_none=True))
                if prefs != (p.contact_preferences or {}):
                    p.contact_preferences = prefs
                    changed.append("contact_preferences")
            if update.consents is not None:
                c = update.consents
                for name, attr in (
                    ("voice", "consent_voice"),
                    ("sms", "consent_sms"),
                    ("written", "consent_written"),
                ):
                    value = getattr(c, name)
                    if value is not None and value != getattr(p, attr):
                        setattr(p, attr, value)
                        changed.append(attr)
                if c.outreach is False and not p.opted_out:
                    opt_out_how = "intake form"
                elif c.outreach is True and p.opted_out:
                    # the patient's own new consent, given on the practice's form, lifts their opt-out
                    p.opted_out, p.opted_out_at = False, None
                    changed.append("opted_in")
            for life in update.life_events or []:
                changed.append(f"life_event:{life.type}")
                if life.type in LIFE_EVENTS_MOVING and not p.moved_away:
                    p.moved_away = True
                    p.zip_changed_on = p.zip_changed_on or life.date or today
                if life.type == "deceased" and p.status != "deceased":
                    # a death is a status, not a choice: never contacted again, but no "opted out" outcome
                    p.status = "deceased"
                    p.deceased_on = p.deceased_on or life.date
                    changed.append("status:deceased")
            p.has_contact = p.has_contact or bool(phones) or bool(p.email)
            result = {
                "event_id": update.event_id,
                "duplicate": False,
                "patient_id": p.id,
                "changed": changed + (["opted_out"] if opt_out_how else []),
            }
            s.add(
                IntegrationEvent(
                    key_id=key_id,
                    event_id=update.event_id,
                    kind="intake",
                    patient_id=p.id,
                    received_at=now,
                    result=result,
                )
            )
    except IntegrityError:
        seen = _stored(services, key_id, update.event_id)
        if seen is not None:
            return seen
        raise
    finally:
        if phones is not None:
            try:
                services.publish_cache.phones_changed()  # again, after the commit (see importer)
            except CacheUnavailable:
                log.warning("intake %s: the tier cache could not be told after the commit", update.event_id)
    if opt_out_how:
        optout.opt_out(services.store, [update.patient_id], how=opt_out_how, now=services.now())
        services.outcomes.opted_out([update.patient_id])
    if changed or opt_out_how:
        schedule_rescore(services)
    return Applied(result)


RESCORE_DELAY_S = 60


def schedule_rescore(services: IntegrationContext, delay_s: int = RESCORE_DELAY_S) -> bool:
    """One re-score in the schedule at a time (a burst of updates shares it); False when one was already due."""
    try:
        return services.jobs.once_in(
            keys.rescore_scheduled(), delay_s, dt.timedelta(seconds=delay_s), jobqueue.SCORE, job_timeout=3600
        )
    except (redis.RedisError, OSError):
        log.warning("could not schedule a re-score after an integration update")
        return False


def trying_to_return(store: Any, now: dt.datetime, cooldown_days: int) -> int:
    """How many patients tried to book online within the cool-down (for the dashboard; a count, no names)."""
    from sqlalchemy import func

    since = utc(now) - dt.timedelta(days=cooldown_days)
    with store.sessions() as s:
        return int(
            s.scalar(select(func.count()).select_from(Patient).where(Patient.booking_attempt_at > since)) or 0
        )
