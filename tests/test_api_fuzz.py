"""Property-based fuzzing of the integration API against its own OpenAPI document: nothing answers 5xx."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from receptionist.store import Patient
from receptionist.web import create_app
from tests.api_helpers import make_api

EXAMPLES = 40


@pytest.fixture
def fuzz_app(services):
    services.now = lambda: dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    with services.store.session() as s:
        s.add(Patient(id="P1", first_name="Pat", zip="20001", has_contact=True))
    app = create_app(services=services)
    app.config["API_RATE_PER_MINUTE"] = 1_000_000
    return app


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_5xx(services, fuzz_app, mode):
    """Valid and invalid requests generated from openapi.json, with a real key: always a 2xx or a 4xx."""
    api = make_api(services, fuzz_app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    seen: list[tuple[str, int]] = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {api.key.token}"})
            seen.append((case.operation.label, response.status_code))
            assert response.status_code < 500, (case.operation.label, case.body, response.text[:500])
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"code", "message"}

        check()
    # the generated requests get past the key: valid ones are applied, invalid ones are told why
    assert {code for _, code in seen} & ({200, 201} if mode is GenerationMode.POSITIVE else {422, 400})


def test_unauthenticated_fuzzing_never_gets_past_the_key(services, fuzz_app):
    """Without a key every generated request is a 401, whatever its body."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call()
            assert response.status_code == (200 if case.operation.path.endswith("openapi.json") else 401)

        check()
