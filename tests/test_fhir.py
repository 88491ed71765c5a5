"""FHIR R4 bundles (Synthea-style, `urn:uuid:` references) through `import fhir` and `POST /api/v1/fhir`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from receptionist.store import Patient, PatientPhone, VisitLine
from receptionist.store.schedule import Appointment
from receptionist.web import create_app
from tests.api_helpers import make_api

BUNDLE = Path(__file__).parent / "data" / "fhir_bundle.json"
P1 = "8f2c1a7e-0d8b-4c53-9a57-2a4f7e1b0c11"
P2 = "1b9e4d2c-7a3f-4e8d-b6c5-93e0f1a2d4b7"


def stored(store) -> dict:
    with store.sessions() as s:
        patients = {
            p.id: (p.first_name, p.last_name, p.email, p.zip, str(p.date_of_birth))
            for p in s.scalars(select(Patient))
        }
        phones = {(r.patient_id, r.phone) for r in s.scalars(select(PatientPhone))}
        visits = {
            v.line_key: (v.patient_id, str(v.day), v.amount_cents, v.paid_cents, v.department, v.provider)
            for v in s.scalars(select(VisitLine))
        }
        appts = {
            a.external_id: (a.patient_id, a.start.isoformat()[:16], a.minutes, a.kind, a.status, a.booked_via)
            for a in s.scalars(select(Appointment))
        }
    return {"patients": patients, "phones": phones, "visits": visits, "appointments": appts}


EXPECTED = {
    "patients": {
        P1: ("Ada", "Okafor", "ada.okafor@example.com", "20001", "1984-06-02"),
        P2: ("Bo", "Lind", "", "22201", "1971-01-15"),
    },
    "phones": {(P1, "+12025550161"), (P2, "+12025550162")},
    "visits": {
        # the claim's total, the EOB's payment; department from serviceType, then type, then class
        "fhir:e-101": (P1, "2024-03-04", 18000, 14400, "hygiene", "Dr. Alvarez"),
        "fhir:e-102": (P1, "2024-09-10", 42050, 30000, "restorative", "Dr. Alvarez"),
        "fhir:e-201": (P2, "2023-11-20", 9500, 9500, "amb", "Dr. Alvarez"),
    },
    "appointments": {"ap-1": (P2, "2030-01-07T15:00", 60, "exam", "booked", "pms")},
}


def test_cli_imports_a_bundle_and_reports_skipped_and_invalid(run, store):
    """Invalid resources are named by type and id, other types counted; nothing is imported without
    --skip-invalid; a second import adds nothing."""
    refused = run("import", "fhir", str(BUNDLE))
    assert refused.returncode == 1
    assert "Encounter/e-bad: period.start" in refused.stderr and "nothing imported" in refused.stderr
    assert "Traceback" not in refused.stderr and stored(store)["patients"] == {}
    done = run("import", "fhir", str(BUNDLE), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert "2 skipped (Condition 1, Observation 1)" in done.stdout and "1 invalid left out" in done.stdout
    assert stored(store) == EXPECTED
    again = run("import", "fhir", str(BUNDLE), "--skip-invalid")
    assert "patients 0 added / 0 updated" in again.stdout and "visits 0 added" in again.stdout
    assert stored(store) == EXPECTED


def test_cli_rejects_what_is_not_a_bundle(run, tmp_path):
    """Not JSON, or JSON that is not a Bundle: one line naming the file, exit 1."""
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    got = run("import", "fhir", str(bad))
    assert got.returncode == 1 and "x.json: not valid JSON" in got.stderr and got.stderr.count("\n") == 1
    bad.write_text('{"resourceType": "Patient"}')
    got = run("import", "fhir", str(bad))
    assert got.returncode == 1 and "not a FHIR Bundle" in got.stderr


def test_api_round_trip_matches_the_cli(services, store):
    """POST /api/v1/fhir imports the valid resources, reports the invalid one by id, and repeats harmlessly;
    consents recorded before are kept (FHIR does not carry them)."""
    services.store = store
    with store.session() as s:
        s.add(Patient(id=P1, consent_voice=True, consent_written=True, has_contact=True))
    api = make_api(services, create_app(services=services))
    raw = BUNDLE.read_bytes()
    got = api.send("POST", "/api/v1/fhir", raw=raw)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["invalid"] == [
        {"resourceType": "Encounter", "id": "e-bad", "entry": "12", "error": body["invalid"][0]["error"]}
    ]
    assert body["skipped"] == {"Observation": 1, "Condition": 1} and body["resources"] == 13
    assert (body["patients"]["added"], body["patients"]["updated"], body["visits"]["added"]) == (1, 1, 3)
    assert stored(store) == EXPECTED
    with store.sessions() as s:
        assert s.get(Patient, P1).consent_voice is True
    assert api.send("POST", "/api/v1/fhir", raw=raw).get_json()["visits"]["added"] == 0
    assert stored(store) == EXPECTED
    not_bundle = api.send("POST", "/api/v1/fhir", {"resourceType": "Patient"})
    assert not_bundle.status_code == 422 and not_bundle.get_json()["error"]["code"] == "not_a_bundle"
    assert json.loads(raw)["entry"]  # the file itself is untouched
