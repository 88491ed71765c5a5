"""Patients, visits and appointments pushed by the practice-management system, upserted by its own ids.

Patients go through the importer's own upsert (same zip-change and opt-out rules) with the tier cache told
before and after the commit that phones change; visit lines are keyed `v:<id>` exactly like a visits file's
`visit_id`, so an API push and a CSV import of the same visit are one line, and a changed line is updated (the
practice-management system is the source of truth); appointments are keyed by `external_id` and hold the
matching open slot, so the receptionist's scheduling tools see them and never offer that time again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from receptionist.clock import utc
from receptionist.integrations.context import IntegrationContext
from receptionist.integrations.doubts import provider_doubt, shared_phones
from receptionist.integrations.errors import ApiError, invalid
from receptionist.integrations.schemas import PmsAppointment, PmsPatient, PmsVisit
from receptionist.patients.cache import CacheUnavailable
from receptionist.patients.importer import PatientRecord, VisitRecord, insert_visits, upsert_patients
from receptionist.phones import InvalidPhone, to_e164
from receptionist.scheduling.schedule import hold
from receptionist.store import Patient, VisitLine
from receptionist.store.schedule import Appointment


def _cents(amount: float) -> int:
    return int(round(amount * 100))


def e164_phones(texts: list[str], field: str) -> list[str]:
    """Phone numbers in any common format as E.164, first occurrence kept; a bad one is a 422 naming field[i]."""
    phones: list[str] = []
    for i, text in enumerate(texts):
        try:
            e164 = to_e164(text)
        except InvalidPhone as exc:
            raise invalid(f"{field}[{i}]", str(exc)) from None
        if e164 not in phones:
            phones.append(e164)
    return phones


def patient_record(p: PmsPatient, where: str) -> PatientRecord:
    phones = e164_phones(p.phones, f"{where}.phones")
    return PatientRecord(
        id=p.id,
        first_name=p.first_name,
        last_name=p.last_name,
        phones=tuple(phones),
        email=p.email.lower(),
        zip=p.zip[:5],
        consent_voice=p.consent_voice,
        consent_sms=p.consent_sms,
        consent_written=p.consent_written,
        opted_out=p.opted_out,
        date_of_birth=p.date_of_birth,
        status="deceased" if p.deceased_on is not None else p.status,
        deceased_on=p.deceased_on,
    )


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise invalid(f"{what}[{i}].id", f"{x} appears twice in the batch")
        seen.add(x)


def upsert_patients_batch(
    services: IntegrationContext, patients: list[PmsPatient], today: dt.date
) -> dict[str, Any]:
    _unique([p.id for p in patients], "patients")
    records = [patient_record(p, f"patients[{i}]") for i, p in enumerate(patients)]
    cache = services.publish_cache
    try:
        cache.phones_changed()
    except CacheUnavailable:
        raise ApiError(
            503,
            "cache_unavailable",
            "the tier cache cannot be told that phones change; nothing was changed, try again",
        ) from None
    try:
        with services.store.session() as s:
            doubts = shared_phones(s.connection(), [(r.id, r.phones) for r in records], "patients")
            added, updated, unchanged = upsert_patients(s.connection(), records, today)
    finally:
        try:
            cache.phones_changed()
        except CacheUnavailable:
            pass  # the first call made the cache not complete already; the next score run republishes
    return {
        "received": len(records),
        "added": added,
        "updated": updated,
        "unchanged": unchanged,
        "warnings": doubts,
    }


def visit_record(v: PmsVisit) -> VisitRecord:
    amount = _cents(v.amount)
    return VisitRecord(
        line_key=f"v:{v.id}",
        patient_id=v.patient_id,
        day=v.date,
        amount_cents=amount,
        paid_cents=_cents(v.paid) if v.paid is not None else amount,
        department=v.department.strip().lower(),
        provider=v.provider,
    )


def upsert_visits_batch(
    services: IntegrationContext, visits: list[PmsVisit], today: dt.date
) -> dict[str, int]:
    _unique([v.id for v in visits], "visits")
    for i, v in enumerate(visits):
        if v.date > today + dt.timedelta(days=1):
            raise invalid(f"visits[{i}].date", "in the future")
        if not v.department.strip():
            raise invalid(f"visits[{i}].department", "missing")
    records = [visit_record(v) for v in visits]
    with services.store.session() as s:
        conn = s.connection()
        existing = {
            row.line_key: row
            for row in conn.execute(
                select(
                    VisitLine.line_key,
                    VisitLine.patient_id,
                    VisitLine.day,
                    VisitLine.amount_cents,
                    VisitLine.paid_cents,
                    VisitLine.department,
                    VisitLine.provider,
                ).where(VisitLine.line_key.in_([r.line_key for r in records]))
            )
        }
        fresh = [r for r in records if r.line_key not in existing]
        changed = [
            r
            for r in records
            if r.line_key in existing
            and tuple(existing[r.line_key][1:])
            != (r.patient_id, r.day, r.amount_cents, r.paid_cents, r.department, r.provider)
        ]
        added, _, created = insert_visits(conn, fresh) if fresh else (0, 0, 0)
        if changed:
            _, _, more = insert_visits(
                conn, changed
            )  # creates unknown patients; the lines exist, so none added
            created += more
            conn.execute(
                update(VisitLine)
                .where(VisitLine.line_key == bindparam("k"))
                .values(
                    patient_id=bindparam("pid"),
                    day=bindparam("d"),
                    amount_cents=bindparam("a"),
                    paid_cents=bindparam("p"),
                    department=bindparam("dep"),
                    provider=bindparam("prov"),
                ),
                [
                    {
                        "k": r.line_key,
                        "pid": r.patient_id,
                        "d": r.day,
                        "a": r.amount_cents,
                        "p": r.paid_cents,
                        "dep": r.department,
                        "prov": r.provider,
                    }
                    for r in changed
                ],
            )
    return {
        "received": len(records),
        "added": added,
        "updated": len(changed),
        "unchanged": len(records) - added - len(changed),
        "patients_created": created,
    }


def _ensure_patients(conn, pids: list[str]) -> int:
    known = set(conn.scalars(select(Patient.id).where(Patient.id.in_(pids))))
    unknown = [p for p in dict.fromkeys(pids) if p not in known]
    if unknown:
        # created_at and updated_at: the column default, the store's clock
        conn.execute(
            insert(Patient),
            [
                {
                    "id": p,
                    "first_name": "",
                    "last_name": "",
                    "email": "",
                    "zip": "",
                    "previous_zip": "",
                    "moved_away": False,
                    "consent_voice": False,
                    "consent_sms": False,
                    "consent_written": False,
                    "opted_out": False,
                    "has_contact": False,
                }
                for p in unknown
            ],
        )
    return len(unknown)


def upsert_appointments_batch(
    services: IntegrationContext,
    appointments: list[PmsAppointment],
    *,
    booked_via: str = "pms",
    refuse_taken: bool = False,
) -> dict[str, Any]:
    """`refuse_taken` (the API): a visit the receptionist, staff or online booking already put at that time
    and provider refuses the whole request with a 409 naming the entry (nothing stored), so the practice
    system hears of the double booking; a bulk file import (FHIR) stores what the PMS says."""
    _unique([a.id for a in appointments], "appointments")
    locations = {loc.id for loc in services.practice.locations}
    for i, a in enumerate(appointments):
        if a.location_id and a.location_id not in locations:
            raise invalid(
                f"appointments[{i}].location_id", f"{a.location_id} is not a location of the practice"
            )
    doubts = [
        d
        for i, a in enumerate(appointments)
        if (
            d := provider_doubt(
                services.practice,
                a.location_id or services.practice.main.id,
                a.provider,
                f"appointments[{i}].provider",
            )
        )
    ]
    counts: dict[str, Any] = {
        "received": len(appointments),
        "added": 0,
        "updated": 0,
        "unchanged": 0,
        "patients_created": 0,
    }
    with services.store.session() as s:
        for i, a in enumerate(appointments):
            taken = (
                _taken_by_another(s, a, a.location_id or services.practice.main.id) if refuse_taken else None
            )
            if taken is not None:
                who = VIA_WORDS.get(taken.booked_via, taken.booked_via)
                raise ApiError(
                    409,
                    "slot_taken",
                    f"appointments[{i}]: {a.provider} already has a visit at that time, booked by {who}; "
                    "nothing in this request was stored",
                )
        counts["patients_created"] = _ensure_patients(s.connection(), [a.patient_id for a in appointments])
        rows = {
            r.external_id: r
            for r in s.scalars(
                select(Appointment).where(Appointment.external_id.in_([a.id for a in appointments]))
            )
        }
        for a in appointments:
            values = {
                "patient_id": a.patient_id,
                "location_id": a.location_id or services.practice.main.id,
                "provider": a.provider,
                "start": utc(a.start),
                "minutes": a.minutes,
                "kind": a.kind,
                "status": a.status,
            }
            row = rows.get(a.id)
            if row is None:
                row = Appointment(external_id=a.id, booked_via=booked_via, **values)
                s.add(row)
                counts["added"] += 1
            elif all(_same(getattr(row, k), v) for k, v in values.items()):
                counts["unchanged"] += 1
                continue
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                counts["updated"] += 1
            s.flush()
            _hold_slot(s, row)
    counts["warnings"] = doubts
    return counts


VIA_WORDS = {
    "ai": "the AI receptionist",
    "text": "the AI receptionist by text",
    "staff": "staff",
    "online": "online booking",
    "pms": "the practice system",
}


def _taken_by_another(s: Any, a: PmsAppointment, location_id: str) -> Appointment | None:
    """A booked visit of someone else's making at this provider that overlaps the pushed one: the AI, staff
    or online booking took the time first (a 409, so the practice system hears of the double booking)."""
    if a.status != "booked" or not a.provider:
        return None
    start = utc(a.start)
    end = start + dt.timedelta(minutes=a.minutes or 30)
    for other in s.scalars(
        select(Appointment).where(
            Appointment.location_id == location_id,
            Appointment.provider == a.provider,
            Appointment.status == "booked",
            Appointment.start < end,
            Appointment.start >= start - dt.timedelta(hours=8),
        )
    ):
        if other.external_id == a.id:
            continue
        other_end = utc(other.start) + dt.timedelta(minutes=other.minutes or 30)
        if other_end > start:
            return other
    return None


def _same(old: Any, new: Any) -> bool:
    if isinstance(new, dt.datetime) and isinstance(old, dt.datetime):
        return utc(old) == new
    return old == new


def _hold_slot(s, row: Appointment) -> None:
    """The open units at this appointment's place and provider for its whole length are taken by it (freed when
    cancelled): the schedule's own `hold`, so a longer visit never leaves its later units on offer."""
    hold(s, row)
