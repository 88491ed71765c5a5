"""The integration API's OpenAPI document, built from the request models (`integrations/schemas.py`).

The document is kept in the package as `openapi.json` and served as it is; a test checks it equals this build.
Rebuild it after changing a model or a route: `python -m receptionist.web.openapi`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from receptionist.integrations.schemas import REQUESTS

FILE = Path(__file__).with_name("openapi.json")
REF = "#/components/schemas/{model}"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
SIGNATURE = {
    "name": "X-Signature",
    "in": "header",
    "required": False,
    "description": 'exactly t=<unix seconds>,v2=<64 lower-case hex: HMAC-SHA256 of "<t>.<METHOD>.<path>.<raw '
    "body>\" under the key's signing secret> (path: the request's path, with ?query when it has one); "
    "required for keys made with --signed, checked whenever present; at most 5 minutes old, and each "
    "signature is accepted once. The body-only v1 form is no longer accepted",
    "schema": {"type": "string", "pattern": "^t=(0|[1-9][0-9]{0,11}),v2=[0-9a-f]{64}$"},
}
ANY_OBJECT = {"type": "object", "additionalProperties": True}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "malformed JSON, or JSON nested too deeply (`too_deep`)",
        401: "missing or bad API key or signature",
        403: "the key lacks the scope this route (or a look-up by phone or email) needs",
        409: "a signed request replayed; for appointments, also the time already taken at that provider by the AI receptionist, staff or online booking (`slot_taken`: nothing stored)",
        413: "body over the route's size limit",
        415: "not application/json",
        422: "a field is missing, unknown or invalid",
        429: "over the key's rate limit (Retry-After)",
        503: "the tier cache (Redis) cannot be told that phones change; nothing changed, try again",
        404: "unknown patient",
    }
    return {
        str(c): {
            "description": words[c],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
        for c in codes
    }


def _write(
    model: str, summary: str, description: str, ok: dict[str, str], extra: tuple[int, ...] = (), op: str = ""
) -> dict[str, Any]:
    responses = {
        code: {"description": text, "content": {"application/json": {"schema": ANY_OBJECT}}}
        for code, text in ok.items()
    }
    responses.update(_errors(400, 401, 403, 409, 413, 415, 422, 429, *extra))
    return {
        "operationId": op,
        "summary": summary,
        "description": description,
        "security": [{"apiKey": []}],
        "parameters": [SIGNATURE],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
        },
        "responses": responses,
    }


def build() -> dict[str, Any]:
    _, top = models_json_schema([(m, "validation") for m in REQUESTS.values()], ref_template=REF)
    schemas = dict(sorted(top.get("$defs", {}).items()))
    schemas["Error"] = ERROR
    fhir = _write(
        "FhirBundle",
        "Import a FHIR R4 Bundle",
        "Patient, Encounter, Appointment, Claim and ExplanationOfBenefit resources become patients, "
        "visits (amount from the claim, department from the encounter's service type, type or class) "
        "and appointments; other resource types are skipped and counted, invalid ones reported by id.",
        {"200": "what was imported, skipped and rejected"},
        (503,),
        "importFhir",
    )
    schemas["FhirBundle"] = {
        "type": "object",
        "required": ["resourceType"],
        "additionalProperties": True,
        "properties": {
            "resourceType": {"const": "Bundle"},
            "entry": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "receptionist integration API",
            "version": "1",
            "description": "Online booking, digital intake and practice-management sync. Every request "
            "carries `Authorization: Bearer <API key>` (made with `receptionist keys add`); each route needs "
            "a scope of the key: booking, intake, pms (patients, visits, appointments), fhir; finding a "
            "patient by phone or email needs lookup. "
            'Errors are `{"error": {"code", "message"}}`. Doubtful data: what cannot be stored truthfully is '
            "refused with 422 naming the field (a date-time without a UTC offset, an unknown location); what "
            "is plausible but unusual is stored, and the response's `warnings` list names the field and why "
            '(`{"field", "message"}`): a provider the practice file does not name at that location, a phone '
            "number another patient already has, a booking event that matches no patient.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/booking-events": {
                "post": _write(
                    "BookingEvent",
                    "An online booking attempt: started, abandoned or completed",
                    "A known patient is marked trying to return: reactivation outreach is held back for the "
                    "cool-down, and a completed booking is recorded as an outcome. Stored once per event_id.",
                    {
                        "201": "applied; `warnings` names what was doubtful (no patient matched, an unknown "
                        "provider)",
                        "200": "a repeated delivery (`duplicate`: true), nothing changed",
                    },
                    op="postBookingEvent",
                )
            },
            "/api/v1/intake": {
                "post": _write(
                    "IntakeUpdate",
                    "A digital intake form's update to one patient",
                    "Contact details, per-channel preferences, consents, address (a changed zip feeds the "
                    "likelihood to return) and life events; a re-score follows. Stored once per event_id.",
                    {"201": "applied", "200": "a repeated delivery (`duplicate`: true), nothing changed"},
                    (404, 503),
                    "postIntake",
                )
            },
            "/api/v1/patients": {
                "put": _write(
                    "PatientsBatch",
                    "Upsert patients by the practice-management system's ids",
                    "Up to 5,000 a request; phones are replaced, a changed zip is kept as a move, opt-outs stay.",
                    {
                        "200": "counts: received, added, updated, unchanged; `warnings`: phone numbers another "
                        "patient already has"
                    },
                    (503,),
                    "putPatients",
                )
            },
            "/api/v1/visits": {
                "put": _write(
                    "VisitsBatch",
                    "Upsert visit lines by the practice-management system's ids",
                    "Up to 5,000 a request; the same ids as a visits file's visit_id; unknown patients are created.",
                    {"200": "counts: received, added, updated, unchanged, patients_created"},
                    op="putVisits",
                )
            },
            "/api/v1/appointments": {
                "put": _write(
                    "AppointmentsBatch",
                    "Upsert appointments by the practice-management system's ids",
                    "Up to 5,000 a request; a booked appointment takes its open slot, a cancelled one frees it.",
                    {
                        "200": "counts: received, added, updated, unchanged, patients_created; `warnings`: "
                        "providers the practice file does not name"
                    },
                    op="putAppointments",
                )
            },
            "/api/v1/asap-requests": {
                "post": _write(
                    "AsapRequestIn",
                    "Put a patient on the ASAP list",
                    "The patient is texted (within every outreach gate) when a time opens that fits the visit "
                    "type, location and since/until; the first yes books it. Asking again updates the request.",
                    {"201": "the request's `id`"},
                    op="postAsapRequest",
                )
            },
            "/api/v1/openings": {
                "post": _write(
                    "Opening",
                    "A time opened in the schedule: offer it to the ASAP list",
                    "The free run of units for the visit type that starts then is texted to the best-ranked "
                    "patients in small batches a few minutes apart. Cancelled appointments sent to "
                    "PUT /appointments are offered the same way.",
                    {"201": "`offer_id`: the offer, or null when nothing is free then or nobody fits"},
                    op="postOpening",
                )
            },
            "/api/v1/fhir": {"post": fhir},
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "the OpenAPI document",
                            "content": {"application/json": {"schema": ANY_OBJECT}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "rk_... from `receptionist keys add`",
                }
            },
        },
    }


def text() -> str:
    return json.dumps(build(), indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    FILE.write_text(text())
    print(f"wrote {FILE.name}")
