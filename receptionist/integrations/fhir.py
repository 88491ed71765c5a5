"""FHIR R4 Bundles (as common EHRs and the Synthea generator write them) into patients, visits and appointments.

Each Patient, Encounter, Appointment, Claim and ExplanationOfBenefit is validated with `fhir.resources` (its R4B
models, which read R4 resources of these types); one that does not validate is reported by type and id and left
out. Other resource types are skipped and counted. Mapping:
- Patient -> patient: id, first given name, family name, phone and email telecoms, first address's postalCode,
  birthDate, deceasedBoolean / deceasedDateTime (a deceased patient; `deceasedBoolean: false` says active, and
  a death already recorded is never undone); consents and opt-outs already recorded are kept (FHIR does not
  carry them);
- Encounter -> one visit line keyed `fhir:<encounter id>`: its day (period.start), department (serviceType, else
  type, else class; "<code> <display>" for a SNOMED CT, CPT or CDT coding, so scoring maps the code to a
  service line), provider (first participant's display), amount from the Claim for it (total; else the
  ExplanationOfBenefit's submitted total), paid from the ExplanationOfBenefit's payment;
- Appointment -> appointment by `external_id` (booked, or cancelled for cancelled / noshow / entered-in-error).
References are resolved by `ResourceType/id` and by the entry's `fullUrl` (Synthea writes `urn:uuid:` ones).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from receptionist.clock import utc
from receptionist.integrations.context import IntegrationContext
from receptionist.integrations.errors import ApiError, has_nul
from receptionist.integrations.pms import upsert_appointments_batch
from receptionist.integrations.schemas import PmsAppointment
from receptionist.patients.cache import CacheUnavailable
from receptionist.patients.importer import CHUNK, PatientRecord, VisitRecord, insert_visits, upsert_patients
from receptionist.phones import InvalidPhone, to_e164
from receptionist.store import Patient

MAPPED = ("Patient", "Encounter", "Appointment", "Claim", "ExplanationOfBenefit")
# FHIR's id type: what a reference may point at. Anything else (a `/`, `<`, a space, a leading `=`) is no id
# of ours: such a reference is treated as missing, so it never becomes a patient id in the store or a CSV.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

CANCELLED = {"cancelled", "noshow", "entered-in-error"}


class NotABundle(ValueError):
    pass


@dataclass
class FhirReport:
    resources: int = 0
    patients: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    appointments: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    invalid: list[dict[str, str]] = field(default_factory=list)
    imported: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "imported": self.imported,
            "patients": self.patients,
            "visits": self.visits,
            "appointments": self.appointments,
            "skipped": self.skipped,
            "skipped_total": sum(self.skipped.values()),
            "invalid": self.invalid,
        }

    def summary(self, name: str) -> str:
        if not self.imported:
            return (
                f"{name}: {len(self.invalid)} invalid resource(s), nothing imported "
                "(fix them, or use --skip-invalid to import the valid ones)"
            )
        parts = [
            f"{self.resources} resources",
            f"patients {self.patients.get('added', 0)} added / {self.patients.get('updated', 0)} updated",
            f"visits {self.visits.get('added', 0)} added / {self.visits.get('updated', 0)} updated",
            f"appointments {self.appointments.get('added', 0)} added / "
            f"{self.appointments.get('updated', 0)} updated",
            f"{sum(self.skipped.values())} skipped ({', '.join(f'{k} {v}' for k, v in sorted(self.skipped.items()))})"
            if self.skipped
            else "0 skipped",
        ]
        if self.invalid:
            parts.append(f"{len(self.invalid)} invalid left out")
        return f"{name}: " + ", ".join(parts)


def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _validate(resource: dict[str, Any]) -> str | None:
    """None when the resource is valid FHIR, else why not (first errors, no values)."""
    try:
        _model(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        errs = exc.errors(include_input=False, include_url=False)[:2]
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errs)
    except (ValueError, TypeError) as exc:
        return str(exc)[:200]
    return None


def _ref(reference: Any, aliases: dict[str, str]) -> str | None:
    """The id a reference points at: `Patient/123`, a bundle `fullUrl` (`urn:uuid:...`), or an absolute URL."""
    if not isinstance(reference, dict):
        return None
    ref = reference.get("reference")
    if not isinstance(ref, str) or not ref:
        return None
    if ref in aliases:
        return aliases[ref]
    target = ref[9:] if ref.startswith("urn:uuid:") else ref.rstrip("/").rsplit("/", 1)[-1]
    return target if _FHIR_ID.fullmatch(target) else None


def _text(concepts: Any) -> str:
    if isinstance(concepts, dict):
        concepts = [concepts]
    for c in concepts or []:
        if not isinstance(c, dict):
            continue
        if c.get("text"):
            return str(c["text"])
        for coding in c.get("coding") or []:
            if coding.get("display") or coding.get("code"):
                return str(coding.get("display") or coding.get("code"))
        if c.get("display") or c.get("code"):  # a bare Coding (Encounter.class)
            return str(c.get("display") or c.get("code"))
    return ""


_CODED = ("snomed", "cpt", "cdt", "ada.org")  # code systems whose codes name a service line


def _department(concepts: Any) -> str:
    """A CodeableConcept as a department: "<code> <display>" when a coding is SNOMED CT, CPT or CDT (the code
    decides the service line, the display stays readable), else its text or display as `_text` reads it."""
    if isinstance(concepts, dict):
        concepts = [concepts]
    for c in concepts or []:
        if not isinstance(c, dict):
            continue
        for coding in c.get("coding") or []:
            code, system = str(coding.get("code") or ""), str(coding.get("system") or "").lower()
            if code and any(name in system for name in _CODED):
                display = str(coding.get("display") or c.get("text") or "")
                return f"{code} {display}".strip()
    return _text(concepts)


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return day if 1900 <= day.year < 2200 else None


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        t = utc(t)
    except (ValueError, OverflowError):
        return None
    return t if 1900 < t.year < 2200 else None


def _cents(money: Any) -> int | None:
    if isinstance(money, dict) and isinstance(money.get("value"), int | float):
        return int(round(float(money["value"]) * 100))
    return None


def _patient(r: dict[str, Any], kept: dict[str, Any]) -> PatientRecord:
    name = (
        next((n for n in r.get("name") or [] if n.get("use") in (None, "official", "usual")), None)
        or (r.get("name") or [{}])[0]
    )
    phones: list[str] = []
    email = ""
    for t in r.get("telecom") or []:
        if t.get("system") == "phone" and t.get("value"):
            try:
                e164 = to_e164(t["value"])
            except InvalidPhone:
                continue  # an unusable number is left out, as no number
            if e164 not in phones:
                phones.append(e164)
        elif t.get("system") == "email" and t.get("value") and not email:
            email = str(t["value"]).strip().lower()[:254]
    postal = next((a.get("postalCode") for a in r.get("address") or [] if a.get("postalCode")), "") or ""
    zip5 = postal[:5] if postal[:5].isdigit() and len(postal) >= 5 else ""
    old = kept.get(r["id"])
    return PatientRecord(
        id=r["id"],
        first_name=" ".join((name.get("given") or [""])[:1])[:100],
        last_name=str(name.get("family") or "")[:100],
        phones=tuple(phones[:5]),
        email=email,
        zip=zip5,
        consent_voice=bool(old and old.consent_voice),
        consent_sms=bool(old and old.consent_sms),
        consent_written=bool(old and old.consent_written),
        opted_out=bool(old and old.opted_out),
        date_of_birth=_day(r.get("birthDate")),
        **_deceased(r),
    )


def _deceased(r: dict[str, Any]) -> dict[str, Any]:
    """Patient.deceased[x]: deceasedDateTime (any precision, the day kept when it has one) or deceasedBoolean.

    Neither: nothing said (status None keeps what is known)."""
    when = r.get("deceasedDateTime")
    if isinstance(when, str) and when.strip():
        return {"status": "deceased", "deceased_on": _day(when)}
    flag = r.get("deceasedBoolean")
    if flag is True:
        return {"status": "deceased", "deceased_on": None}
    if flag is False:
        return {"status": "active", "deceased_on": None}
    return {"status": None, "deceased_on": None}


def read_bundle(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise NotABundle('not a FHIR Bundle (resourceType must be "Bundle")')
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise NotABundle("Bundle.entry must be a list")
    return entries


def import_bundle(
    services: IntegrationContext, data: Any, *, today: dt.date, skip_invalid: bool = True
) -> FhirReport:
    """Validate every mapped resource, then (when none is invalid, or `skip_invalid`) load them."""
    try:
        entries = read_bundle(data)
    except NotABundle as exc:
        raise ApiError(422, "not_a_bundle", str(exc)) from None
    report = FhirReport()
    aliases: dict[str, str] = {}
    valid: dict[str, list[dict[str, Any]]] = {t: [] for t in MAPPED}
    for i, entry in enumerate(entries):
        if i % 200 == 199:
            time.sleep(0)  # a big bundle lets the web worker's other requests (Twilio's webhooks) run between
        resource = entry.get("resource") if isinstance(entry, dict) else None
        report.resources += 1
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            report.invalid.append({"resourceType": "", "id": "", "entry": str(i), "error": "no resource"})
            continue
        rtype, rid = resource["resourceType"], resource.get("id")
        if rtype not in MAPPED:
            report.skipped[rtype] = report.skipped.get(rtype, 0) + 1
            continue
        why = "text may not contain NUL characters" if has_nul(resource) else _validate(resource)
        if why is None and not (isinstance(rid, str) and 0 < len(rid) <= 64):
            why = "id: missing or longer than 64 characters"
        if why is not None:
            report.invalid.append(
                {"resourceType": rtype, "id": str(rid or ""), "entry": str(i), "error": why}
            )
            continue
        if isinstance(entry.get("fullUrl"), str):
            aliases[entry["fullUrl"]] = rid
        aliases[f"{rtype}/{rid}"] = rid
        valid[rtype].append(resource)
    if report.invalid and not skip_invalid:
        return report
    _load(services, valid, aliases, report, today)
    report.imported = True
    return report


def _amounts(
    valid: dict[str, list[dict[str, Any]]], aliases: dict[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per encounter id: the billed amount (Claim total, else EOB submitted) and the paid amount (EOB payment)."""
    billed: dict[str, int] = {}
    eob_billed: dict[str, int] = {}
    paid: dict[str, int] = {}
    for claim in valid["Claim"]:
        total = _cents(claim.get("total"))
        for enc in _encounters_of(claim, aliases)[:1]:
            if total is not None:
                billed[enc] = billed.get(enc, 0) + total
    for eob in valid["ExplanationOfBenefit"]:
        submitted = next(
            (
                _cents(t.get("amount"))
                for t in eob.get("total") or []
                if _text(t.get("category")).lower() in ("submitted", "submitted amount")
            ),
            None,
        )
        if submitted is None and eob.get("total"):
            submitted = _cents(eob["total"][0].get("amount"))
        pay = _cents((eob.get("payment") or {}).get("amount"))
        for enc in _encounters_of(eob, aliases)[:1]:
            if submitted is not None:
                eob_billed[enc] = eob_billed.get(enc, 0) + submitted
            if pay is not None:
                paid[enc] = paid.get(enc, 0) + pay
    for enc, amount in eob_billed.items():
        billed.setdefault(enc, amount)
    return billed, paid


def _encounters_of(resource: dict[str, Any], aliases: dict[str, str]) -> list[str]:
    out: list[str] = []
    for item in resource.get("item") or []:
        for ref in item.get("encounter") or []:
            enc = _ref(ref, aliases)
            if enc and enc not in out:
                out.append(enc)
    return out


def _is_patient_ref(actor: Any, patient_urls: set[str]) -> bool:
    ref = actor.get("reference") if isinstance(actor, dict) else None
    return isinstance(ref, str) and (ref.startswith("Patient/") or ref in patient_urls)


def _load(
    services: IntegrationContext,
    valid: dict[str, list[dict[str, Any]]],
    aliases: dict[str, str],
    report: FhirReport,
    today: dt.date,
) -> None:
    billed, paid = _amounts(valid, aliases)
    patients = valid["Patient"]
    if patients:
        try:
            services.publish_cache.phones_changed()
        except CacheUnavailable:
            raise ApiError(
                503,
                "cache_unavailable",
                "the tier cache cannot be told that phones change; nothing was imported, try again",
            ) from None
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    vcounts = {"added": 0, "unchanged": 0, "patients_created": 0, "without_patient": 0}
    try:
        with services.store.session() as s:
            conn = s.connection()
            for start in range(0, len(patients), CHUNK):
                chunk = patients[start : start + CHUNK]
                kept = {
                    row.id: row
                    for row in conn.execute(
                        select(
                            Patient.id,
                            Patient.consent_voice,
                            Patient.consent_sms,
                            Patient.consent_written,
                            Patient.opted_out,
                        ).where(Patient.id.in_([r["id"] for r in chunk]))
                    )
                }
                added, updated, unchanged = upsert_patients(conn, [_patient(r, kept) for r in chunk], today)
                counts["added"] += added
                counts["updated"] += updated
                counts["unchanged"] += unchanged
            records: list[VisitRecord] = []
            for enc in valid["Encounter"]:
                pid = _ref(enc.get("subject"), aliases)
                day = _day((enc.get("period") or {}).get("start"))
                if not pid or day is None:
                    vcounts["without_patient"] += 1
                    continue
                department = (
                    (
                        _department(enc.get("serviceType"))
                        or _department(enc.get("type"))
                        or _text(enc.get("class"))
                        or "general"
                    )
                    .strip()
                    .lower()[:60]
                )
                provider = next(
                    (
                        str((p.get("individual") or {}).get("display") or "")
                        for p in enc.get("participant") or []
                    ),
                    "",
                )[:100]
                amount = billed.get(enc["id"], 0)
                records.append(
                    VisitRecord(
                        f"fhir:{enc['id']}",
                        pid[:64],
                        day,
                        amount,
                        paid.get(enc["id"], amount),
                        department,
                        provider,
                    )
                )
            for start in range(0, len(records), CHUNK):
                added, present, created = insert_visits(conn, records[start : start + CHUNK])
                vcounts["added"] += added
                vcounts["unchanged"] += present
                vcounts["patients_created"] += created
    finally:
        if patients:
            try:
                services.publish_cache.phones_changed()
            except CacheUnavailable:
                pass
    report.patients, report.visits = counts, vcounts
    patient_ids = {r["id"] for r in patients}
    patient_urls = {url for url, rid in aliases.items() if rid in patient_ids}
    appointments = []
    for a in valid["Appointment"]:
        pid = next(
            (
                _ref(p.get("actor"), aliases)
                for p in a.get("participant") or []
                if _is_patient_ref(p.get("actor"), patient_urls)
            ),
            None,
        )
        start = _instant(a.get("start"))
        if not pid or start is None:
            continue
        minutes = a.get("minutesDuration") or 60
        try:
            appointments.append(
                PmsAppointment(
                    id=a["id"],
                    patient_id=pid[:64],
                    start=start,
                    minutes=max(5, min(600, int(minutes))),
                    kind=(_text(a.get("serviceType")) or _text(a.get("appointmentType")) or "cleaning")[:30],
                    status="cancelled" if a.get("status") in CANCELLED else "booked",
                )
            )
        except ValidationError as exc:
            report.invalid.append(
                {
                    "resourceType": "Appointment",
                    "id": a["id"],
                    "entry": "",
                    "error": str(exc.errors(include_input=False)[0]["msg"]),
                }
            )
    if appointments:
        report.appointments = upsert_appointments_batch(services, appointments, booked_via="pms")
    else:
        report.appointments = {
            "received": 0,
            "added": 0,
            "updated": 0,
            "unchanged": 0,
            "patients_created": 0,
            "warnings": [],
        }
