"""What stops a patient's sequence, read from the store: the facts `sequences.stop_reason` decides on.

Read in bulk for the sequencer (a few set-building queries, not one per patient: 100,000 patients in a
fraction of a second) and for one patient at send time (`dispatch.py`, so a step already queued never goes
out after a response), there by indexes only: the patient's attempts in the campaign and their events, the
patient's appointments and visits, never a scan of the event log. Responses are the outcome log's events for the patient since their campaign started
(`STOP_KINDS`); the rest are the patient's own row, the calendar and the visits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select

from receptionist.clock import utc
from receptionist.outreach.sequences import StopFacts, stop_reason
from receptionist.store import Campaign, OutcomeEvent, OutreachAttempt, Patient, Store, VisitLine
from receptionist.store.schedule import Appointment

# outcome events that end a sequence: the patient answered it one way or another
STOP_KINDS = ("responded", "booked", "rescheduled", "callback", "replied", "not_interested", "opted_out")


def _facts(
    pid: str,
    since: dt.datetime,
    patients: Mapping[str, tuple[bool, str, dt.datetime | None]],
    booked: set[str],
    events: Mapping[str, list[tuple[dt.datetime, str]]],
    visits: Mapping[str, dt.date],
    zone: ZoneInfo,
) -> StopFacts:
    opted, status, trying = patients.get(pid, (True, "unknown", None))
    first = sorted((at, kind) for at, kind in events.get(pid, []) if at >= since)
    last_visit = visits.get(pid)
    return StopFacts(
        opted_out=opted,
        inactive=status != "active",
        booked=pid in booked,
        booking_attempt=trying is not None and trying >= since,
        visited=last_visit is not None and last_visit >= since.astimezone(zone).date(),
        responded=first[0][1] if first else "",
    )


def stop_reasons(
    store: Store, since: Mapping[str, dt.datetime], now: dt.datetime, zone: ZoneInfo
) -> dict[str, str]:
    """Patient id -> why their sequence stops, for the patients of `since` (patient -> their campaign's start)
    that have a reason."""
    if not since:
        return {}
    earliest = min(since.values())
    with store.engine.connect() as conn:
        patients = {
            pid: (bool(opted), status or "active", utc(trying) if trying else None)
            for pid, opted, status, trying in conn.execute(
                select(Patient.id, Patient.opted_out, Patient.status, Patient.booking_attempt_at)
            )
        }
        booked = {
            pid
            for pid, start in conn.execute(
                select(Appointment.patient_id, Appointment.start).where(Appointment.status == "booked")
            )
            if utc(start) > now
        }
        events: dict[str, list[tuple[dt.datetime, str]]] = {}
        for pid, at, kind in conn.execute(
            select(OutcomeEvent.patient_id, OutcomeEvent.at, OutcomeEvent.kind).where(
                OutcomeEvent.kind.in_(STOP_KINDS), OutcomeEvent.at >= earliest
            )
        ):
            if pid:
                events.setdefault(pid, []).append((utc(at), kind))
        visits: dict[str, dt.date] = {}
        for pid, day in conn.execute(
            select(VisitLine.patient_id, VisitLine.day).where(
                VisitLine.day >= earliest.astimezone(zone).date()
            )
        ):
            if day > visits.get(pid, dt.date.min):
                visits[pid] = day
    out = {}
    for pid, start in since.items():
        why = stop_reason(_facts(pid, start, patients, booked, events, visits, zone))
        if why:
            out[pid] = why
    return out


def stop_reason_for(
    store: Store, campaign_id: str, patient_id: str, now: dt.datetime, zone: ZoneInfo
) -> str | None:
    """Why one patient's sequence in a campaign stops now (or None): the same facts, read for that patient
    only, each by an index (the responses through the patient's attempts in the campaign: every response
    event carries the contact it answers)."""
    with store.sessions() as s:
        started = s.scalar(select(Campaign.created_at).where(Campaign.id == campaign_id))
        if started is None:
            return None
        since = utc(started)
        row = s.execute(
            select(Patient.opted_out, Patient.status, Patient.booking_attempt_at).where(
                Patient.id == patient_id
            )
        ).first()
        starts = s.scalars(
            select(Appointment.start).where(
                Appointment.patient_id == patient_id, Appointment.status == "booked"
            )
        ).all()
        mine = select(OutreachAttempt.id).where(
            OutreachAttempt.campaign_id == campaign_id, OutreachAttempt.patient_id == patient_id
        )
        evs = s.execute(
            select(OutcomeEvent.at, OutcomeEvent.kind).where(
                OutcomeEvent.attempt_id.in_(mine),
                OutcomeEvent.kind.in_(STOP_KINDS),
                OutcomeEvent.at >= since,
            )
        ).all()
        day = s.scalar(
            select(VisitLine.day)
            .where(VisitLine.patient_id == patient_id, VisitLine.day >= since.astimezone(zone).date())
            .limit(1)
        )
    patients = (
        {patient_id: (bool(row[0]), row[1] or "active", utc(row[2]) if row[2] else None)} if row else {}
    )
    booked = {patient_id} if any(utc(st) > now for st in starts) else set()
    events = {patient_id: [(utc(at), kind) for at, kind in evs]}
    visits = {patient_id: day} if day is not None else {}
    return stop_reason(_facts(patient_id, since, patients, booked, events, visits, zone))
