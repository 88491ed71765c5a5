"""The integration API's security: one spelling per signature, bound to method and path, replays refused;
scopes; deep JSON and huge bundles; signing secrets kept encrypted; FHIR references that are FHIR ids."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from receptionist.integrations import signing
from receptionist.integrations.apikeys import create_key
from receptionist.integrations.sealing import PREFIX, seal_plain_rows
from receptionist.store import ApiKey, IntegrationEvent, Patient, VisitLine
from receptionist.web import create_app
from receptionist.web.api import MAX_FHIR_ENTRIES
from tests.api_helpers import make_api
from tests.test_api import REQUESTS, app  # noqa: F401 - the fixture: an app with patient P1 on a fixed clock


@pytest.fixture
def api(services, app):  # noqa: F811
    return make_api(services, app)


def respellings(header: str) -> list[str]:
    """The ways one captured header was replayed in the attack: reordered, repeated, extra, padded."""
    t, mac = header.split(",")[0][2:], header.split("=", 2)[2]
    return [
        f"v2={mac},t={t}",
        f"t={t},v2={mac},v2={mac}",
        f"t={t},t={t},v2={mac}",
        f"t={t},v2={mac},x=1",
        f"t=0{t},v2={mac}",
        f"t=+{t},v2={mac}",
        f" t={t},v2={mac}",
        f"t={t}, v2={mac}",
        f"t={t},v2={mac.upper()}",
        f"t={t},v1={mac}",
    ]


@pytest.mark.parametrize("name", ["booking", "intake", "patients"])
def test_a_captured_signature_is_accepted_once_in_one_spelling(api, services, name):
    """Every other spelling of a signed header is refused as malformed, before and after the first use; the
    replay of the one spelling is refused as a replay."""
    method, path, payload = REQUESTS[name]
    body = json.dumps(payload).encode()
    headers = api.headers(body, method=method, path=path, sign=True)
    for other in respellings(headers["X-Signature"]):
        got = api.client.open(path, method=method, data=body, headers={**headers, "X-Signature": other})
        assert got.status_code == 401 and got.get_json()["error"]["code"] == "bad_signature", other
    assert api.client.open(path, method=method, data=body, headers=headers).status_code in (200, 201)
    for other in [headers["X-Signature"], *respellings(headers["X-Signature"])]:
        got = api.client.open(path, method=method, data=body, headers={**headers, "X-Signature": other})
        assert got.status_code in (401, 409), other


def test_the_signature_covers_method_and_path(api, services):
    """A body signed for one route is refused on another (and with another method)."""
    body = json.dumps({"event_id": "e-9", "type": "started", "patient_id": "P1"}).encode()
    signed_for_intake = api.headers(body, method="POST", path="/api/v1/intake", sign=True)
    got = api.client.post("/api/v1/booking-events", data=body, headers=signed_for_intake)
    assert got.status_code == 401 and got.get_json()["error"]["code"] == "bad_signature"
    signed_put = api.headers(body, method="PUT", path="/api/v1/booking-events", sign=True)
    assert api.client.post("/api/v1/booking-events", data=body, headers=signed_put).status_code == 401
    with services.store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IntegrationEvent)) == 0


def test_parse_accepts_exactly_one_form():
    """`t=<digits>,v2=<64 lower-case hex>`: no sign, no leading zero, nothing else."""
    mac = "a" * 64
    assert signing.parse(f"t=1700000000,v2={mac}") == (1700000000, mac)
    for bad in (f"t=01700000000,v2={mac}", f"t=-1,v2={mac}", f"t=1,v2={mac[:-1]}", f"t=1,v2={mac}g", ""):
        with pytest.raises(signing.BadSignature):
            signing.parse(bad)


def test_scopes_limit_what_a_key_does(services, app):  # noqa: F811
    """A booking-only key cannot write patients; finding a patient by phone needs `lookup`; an id still works."""
    booking = make_api(services, app, scopes=("booking",))
    method, path, payload = REQUESTS["patients"]
    got = booking.send(method, path, payload)
    assert got.status_code == 403 and got.get_json()["error"]["code"] == "missing_scope"
    by_phone = {"event_id": "b-1", "type": "started", "phone": "+1 202 555 0101"}
    got = booking.send("POST", "/api/v1/booking-events", by_phone)
    assert got.status_code == 403 and "lookup" in got.get_json()["error"]["message"]
    by_id = {"event_id": "b-2", "type": "started", "patient_id": "P1", "email": "someone@example.com"}
    got = booking.send("POST", "/api/v1/booking-events", by_id)
    assert got.status_code == 201 and got.get_json()["patient_id"] == "P1"
    lookup = make_api(services, app, scopes=("booking", "lookup"))
    got = lookup.send("POST", "/api/v1/booking-events", {**by_phone, "event_id": "b-3"})
    assert got.status_code == 201 and got.get_json()["patient_id"] == "P1"


def test_stats_need_a_manager_or_the_stats_scope(services, app, store):  # noqa: F811
    """`/api/stats` (revenue, cost, ROI): 401 for strangers, 403 for the front desk and for a key without the
    scope, 200 for a manager and for a key with `stats`."""
    from tests.dashboard_helpers import sign_in

    client = app.test_client()
    assert client.get("/api/stats").status_code == 401
    desk = sign_in(app.test_client(), store, "desk", role="front_desk")
    assert desk.get("/api/stats").status_code == 403
    manager = sign_in(app.test_client(), store, "boss", role="manager")
    assert manager.get("/api/stats").status_code == 200
    plain = make_api(services, app, scopes=("booking",))
    assert client.get("/api/stats", headers={"Authorization": f"Bearer {plain.key.token}"}).status_code == 403
    stats = make_api(services, app, scopes=("stats",))
    assert client.get("/api/stats", headers={"Authorization": f"Bearer {stats.key.token}"}).status_code == 200


def test_deep_json_is_a_clear_400(api):
    """JSON nested 20,000 levels deep is refused with 400 `too_deep`, not a 500."""
    deep = b"[" * 20_000 + b"]" * 20_000
    for method, path, _ in REQUESTS.values():
        got = api.send(method, path, raw=deep)
        assert got.status_code == 400 and got.get_json()["error"]["code"] == "too_deep", path
    within_python = b'{"resourceType": "Bundle", "entry": [' + b"[" * 200 + b"]" * 200 + b"]}"
    got = api.send("POST", "/api/v1/fhir", raw=within_python)  # parses, but past the depth allowed
    assert got.status_code == 400 and got.get_json()["error"]["code"] == "too_deep"


def test_huge_fhir_bundles_are_refused_up_front(api):
    """A bundle over the entry limit is a 413 before any resource is validated; the body limit is 16 MB."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{}] * (MAX_FHIR_ENTRIES + 1)}
    got = api.send("POST", "/api/v1/fhir", bundle)
    assert got.status_code == 413 and got.get_json()["error"]["code"] == "too_many_entries"
    big = b'{"resourceType": "Bundle", "entry": [], "x": "' + b"a" * (16 * 1024 * 1024) + b'"}'
    assert api.send("POST", "/api/v1/fhir", raw=big).status_code == 413


def test_signing_secrets_are_kept_encrypted(services):
    """The store holds no signing secret in the clear; one written by an older release is sealed at start."""
    key = create_key(services.store, "pms", sealer=services.sealer)
    with services.store.session() as s:
        row = s.get(ApiKey, key.id)
        assert row.signing_secret.startswith(PREFIX) and key.signing_secret not in row.signing_secret
        s.add(ApiKey(id="old", name="old", token_hash="0" * 64, signing_secret="whsec_plain", webhook_url=""))
    assert seal_plain_rows(services.store, services.sealer) == 1
    with services.store.sessions() as s:
        stored = s.get(ApiKey, "old").signing_secret
    assert stored.startswith(PREFIX) and services.sealer.open(stored) == "whsec_plain"


@pytest.mark.parametrize("bad", ["Patient/=HYPERLINK(1)", "Patient/a b", "Patient/<x>", "urn:uuid:=cmd|x"])
def test_fhir_references_must_be_fhir_ids(services, bad):
    """An Encounter whose subject is no FHIR id creates no patient and no visit under that id."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Encounter",
                    "id": "E1",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": bad},
                    "period": {"start": "2025-05-01T10:00:00Z"},
                }
            }
        ],
    }
    api = make_api(services, create_app(services=services))
    got = api.send("POST", "/api/v1/fhir", bundle)
    assert got.status_code == 200, got.get_json()
    with services.store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VisitLine)) == 0
        ids = list(s.scalars(select(Patient.id)))
    assert not any(ch in "".join(ids) for ch in "=/< |")
