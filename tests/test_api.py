"""The integration API's edges: keys, signatures, replays, limits, JSON errors, idempotent delivery."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from receptionist.integrations.apikeys import create_key, revoke_key
from receptionist.store import IntegrationEvent, Patient, PatientPhone, VisitLine
from receptionist.store.schedule import Appointment
from receptionist.web import create_app
from receptionist.web.api import SIZE_LIMITS
from receptionist.web.openapi import FILE, text
from tests.api_helpers import make_api

# One valid request per write route, and what makes a repeat of it "stored once".
REQUESTS = {
    "booking": (
        "POST",
        "/api/v1/booking-events",
        {"event_id": "evt-1", "type": "started", "patient_id": "P1"},
    ),
    "intake": (
        "POST",
        "/api/v1/intake",
        {
            "event_id": "int-1",
            "patient_id": "P1",
            "email": "pat@example.com",
            "contact_preferences": {"call": False, "note": "after 5 PM"},
        },
    ),
    "patients": (
        "PUT",
        "/api/v1/patients",
        {"patients": [{"id": "P2", "first_name": "Ann", "phones": ["(202) 555-0102"], "zip": "20001"}]},
    ),
    "visits": (
        "PUT",
        "/api/v1/visits",
        {
            "visits": [
                {
                    "id": "V1",
                    "patient_id": "P1",
                    "date": "2025-05-01",
                    "amount": 120.5,
                    "department": "Hygiene",
                }
            ]
        },
    ),
    "appointments": (
        "PUT",
        "/api/v1/appointments",
        {"appointments": [{"id": "A1", "patient_id": "P1", "start": "2026-12-01T15:00:00Z"}]},
    ),
    "fhir": (
        "POST",
        "/api/v1/fhir",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": "F1", "name": [{"given": ["Flo"]}]}}],
        },
    ),
}
ENDPOINTS = {
    "booking": "api.booking_event",
    "intake": "api.intake",
    "patients": "api.patients",
    "visits": "api.visits",
    "appointments": "api.appointments",
    "fhir": "api.fhir",
}


@pytest.fixture
def app(services):
    services.now = lambda: dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    with services.store.session() as s:
        s.add(Patient(id="P1", first_name="Pat", zip="20001", has_contact=True))
        s.flush()
        s.add(PatientPhone(patient_id="P1", phone="+12025550101", position=0))
    return create_app(services=services)


@pytest.fixture
def api(services, app):
    return make_api(services, app)


def count(store, model) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_openapi_document_is_served_and_matches_the_models(api):
    """GET /api/v1/openapi.json needs no key and is the document built from the request models."""
    got = api.client.get("/api/v1/openapi.json")
    assert got.status_code == 200 and got.is_json
    assert FILE.read_text() == text(), "run python -m receptionist.web.openapi"
    paths = got.get_json()["paths"]
    assert {
        "/api/v1/booking-events",
        "/api/v1/intake",
        "/api/v1/patients",
        "/api/v1/visits",
        "/api/v1/appointments",
        "/api/v1/fhir",
    } <= set(paths)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_success_and_duplicate_delivery_is_stored_once(api, services, name):
    """Each route accepts a valid request; delivering it again changes nothing."""
    method, path, payload = REQUESTS[name]
    first = api.send(method, path, payload)
    assert first.status_code in (200, 201), first.get_json()
    before = {
        m.__name__: count(services.store, m) for m in (IntegrationEvent, Patient, VisitLine, Appointment)
    }
    again = api.send(method, path, payload)
    assert again.status_code == 200, again.get_json()
    after = {
        m.__name__: count(services.store, m) for m in (IntegrationEvent, Patient, VisitLine, Appointment)
    }
    assert after == before
    body = again.get_json()
    if name in ("booking", "intake"):
        assert body["duplicate"] is True and first.get_json()["duplicate"] is False
    elif name == "fhir":
        assert body["patients"]["added"] == 0
    else:
        assert body["added"] == 0 and body["updated"] == 0 and body["unchanged"] == 1


@pytest.mark.parametrize("name", list(REQUESTS))
def test_bad_and_missing_and_revoked_keys_are_refused(api, services, name):
    """No key, a wrong key, a revoked key: 401 with a JSON error, and nothing stored."""
    method, path, payload = REQUESTS[name]
    body = json.dumps(payload).encode()
    missing = api.client.open(path, method=method, data=body, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "missing_key"
    wrong = api.send(method, path, payload, key=api.key.token[:-2] + "xx")
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "bad_key"
    revoke_key(services.store, api.key.id, services.now())
    revoked = api.send(method, path, payload)
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "bad_key"
    assert count(services.store, IntegrationEvent) == 0 and count(services.store, VisitLine) == 0


@pytest.mark.parametrize("name", list(REQUESTS))
def test_signatures_are_checked_and_replays_refused(api, services, name):
    """A signed request is accepted once; a bad, stale or replayed signature is a 4xx and changes nothing."""
    method, path, payload = REQUESTS[name]
    body = json.dumps(payload).encode()
    bad = api.send(method, path, raw=body, sign=True, secret="not-the-secret")
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "bad_signature"
    stale = api.send(method, path, raw=body, sign=True, at=api.now().timestamp() - 600)
    assert stale.status_code == 401 and stale.get_json()["error"]["code"] == "stale_signature"
    tampered = api.headers(body, method=method, path=path, sign=True)
    other = api.client.open(path, method=method, data=body.replace(b"1", b"2", 1), headers=tampered)
    assert other.status_code == 401
    assert count(services.store, IntegrationEvent) == 0 and count(services.store, VisitLine) == 0
    headers = api.headers(body, method=method, path=path, sign=True)
    ok = api.client.open(path, method=method, data=body, headers=headers)
    assert ok.status_code in (200, 201), ok.get_json()
    replay = api.client.open(path, method=method, data=body, headers=headers)
    assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "replayed"


def test_a_signed_key_requires_a_signature(services, app):
    """A key made with --signed refuses unsigned requests."""
    api = make_api(services, app, require_signature=True)
    method, path, payload = REQUESTS["booking"]
    unsigned = api.send(method, path, payload)
    assert unsigned.status_code == 401 and unsigned.get_json()["error"]["code"] == "missing_signature"
    assert api.send(method, path, payload, sign=True).status_code == 201


@pytest.mark.parametrize("name", list(REQUESTS))
def test_malformed_json_oversized_body_unknown_fields_and_wrong_type(api, services, name):
    """Malformed JSON 400, too large 413, an unknown field 422 naming it, not JSON 415: all JSON errors."""
    method, path, payload = REQUESTS[name]
    broken = api.send(method, path, raw=b'{"event_id": ')
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "malformed_json"
    limit = SIZE_LIMITS[ENDPOINTS[name]]
    huge = api.send(method, path, raw=b'{"x": "' + b"a" * limit + b'"}')
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "too_large"
    plain = api.client.open(
        path,
        method=method,
        data=b"hello",
        headers={"Authorization": f"Bearer {api.key.token}", "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415 and plain.get_json()["error"]["code"] == "unsupported_media_type"
    if name != "fhir":  # a FHIR bundle carries many fields of its own; its resources are validated instead
        extra = api.send(method, path, {**payload, "surprise": 1})
        assert extra.status_code == 422
        err = extra.get_json()["error"]
        assert err["code"] == "unknown_field" and "surprise" in err["message"]
    assert count(services.store, IntegrationEvent) == 0 and count(services.store, VisitLine) == 0


def test_small_routes_have_small_limits(api):
    """A booking event over 64 KB is refused before it is parsed."""
    payload = {"event_id": "e", "type": "started", "patient_id": "P1", "email": "x" * 70_000}
    assert api.send("POST", "/api/v1/booking-events", payload).status_code == 413


def test_rate_limit_per_key(services, app):
    """Past the per-minute limit a key gets 429 with Retry-After; another key is not affected."""
    app.config["API_RATE_PER_MINUTE"] = 3
    one, two = make_api(services, app), make_api(services, app)
    method, path, payload = REQUESTS["visits"]
    codes = [one.send(method, path, payload).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    limited = one.send(method, path, payload)
    assert limited.get_json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert two.send(method, path, payload).status_code == 200


def test_unknown_routes_and_methods_answer_json(api):
    """404 and 405 under /api/v1 are JSON errors too; other routes keep their own pages."""
    missing = api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = api.client.get("/api/v1/visits")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert api.client.get("/no-such-page").status_code == 404


def test_invalid_field_values_name_the_field(api):
    """A bad phone or a batch with one id twice is a 422 naming the field."""
    bad_phone = api.send("PUT", "/api/v1/patients", {"patients": [{"id": "P9", "phones": ["12"]}]})
    assert (
        bad_phone.status_code == 422 and "patients[0].phones[0]" in bad_phone.get_json()["error"]["message"]
    )
    twice = api.send("PUT", "/api/v1/visits", {"visits": [REQUESTS["visits"][2]["visits"][0]] * 2})
    assert twice.status_code == 422 and "visits[1].id" in twice.get_json()["error"]["message"]
    no_appt = api.send(
        "POST", "/api/v1/booking-events", {"event_id": "c1", "type": "completed", "patient_id": "P1"}
    )
    assert no_appt.status_code == 422 and "appointment" in no_appt.get_json()["error"]["message"]


def test_keys_cli_adds_lists_and_revokes(run):
    """`keys add` shows the key once, `keys list` never shows it, `keys revoke` stops it; bad ids are one line."""
    added = run("keys", "add", "online booking", "--webhook-url", "https://pms.example/hook")
    assert added.returncode == 0, added.stderr
    lines = dict(line.split(":", 1) for line in added.stdout.splitlines() if ":" in line)
    key_id, token = lines["id"].strip(), lines["api key"].strip()
    assert token.startswith(f"rk_{key_id}_")
    listed = run("keys", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [key_id] and token not in listed.stdout
    assert rows[0]["webhook_url"] == "https://pms.example/hook" and rows[0]["revoked_at"] is None
    assert run("keys", "revoke", key_id).returncode == 0
    assert json.loads(run("keys", "list", "--json").stdout)[0]["revoked_at"]
    again = run("keys", "revoke", key_id)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "Traceback" not in again.stderr


def test_tokens_are_stored_hashed(services):
    """Only a hash of the token is in the store."""
    from receptionist.store import ApiKey

    key = create_key(services.store, "pms", sealer=services.sealer)
    with services.store.sessions() as s:
        row = s.get(ApiKey, key.id)
    assert key.token not in (row.token_hash, row.signing_secret) and len(row.token_hash) == 64
    assert key.signing_secret not in row.signing_secret and row.signing_secret.startswith("fernet:")
