"""Deceased patients (FHIR deceased[x], the PMS's status, the intake life event): kept as a status, never
lapsed or scored for reactivation, never answering for a phone number, shown as deceased with care."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from receptionist.config.practice import load_practice
from receptionist.patients.cache import TierCache
from receptionist.patients.importer import import_patients
from receptionist.patients.scorer import run_scoring
from receptionist.store import OutcomeEvent, Patient, PatientScore, VisitLine
from receptionist.voice.directory import CallerDirectory
from receptionist.web import create_app
from tests.api_helpers import make_api
from tests.dashboard_helpers import csrf, sign_in

# A Synthea-shaped bundle (written for these tests): a man dead since 1978 who was a patient from 1935, a
# woman who died (no date given) and shares her home number with her living husband, and a living patient
# who lapsed in 2021 and says nothing about being alive.
BUNDLE = Path(__file__).parent / "data" / "synthea_deceased_bundle.json"
DEAD_1978 = "869bc56f-02b3-5492-bbbe-3566c49260d9"
DEAD = "b7312dbe-b2ab-51fa-b497-a374b38e9879"
SPOUSE = "6f8720b4-8d7d-5a2f-b7c2-6d20dfe26fdb"
LAPSED = "38db9c00-6d62-5940-a7ab-74d41125ee87"
HOUSEHOLD, DEAD_1978_PHONE = "+12025550172", "+12025550171"
AS_OF = dt.date(2026, 12, 1)
PATIENTS_HEADER = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out"


def statuses(store) -> dict[str, tuple[str, dt.date | None]]:
    with store.sessions() as s:
        return {p.id: (p.status, p.deceased_on) for p in s.scalars(select(Patient))}


def scores(store, run_id: str) -> dict[str, PatientScore]:
    with store.sessions() as s:
        return {r.patient_id: r for r in s.scalars(select(PatientScore).where(PatientScore.run_id == run_id))}


@pytest.fixture
def imported(run, store):
    got = run("import", "fhir", str(BUNDLE))
    assert got.returncode == 0, got.stderr
    return store


def test_synthea_bundle_reads_deceased_boolean_and_date_time(imported):
    """deceasedDateTime: deceased on that day; deceasedBoolean true: deceased, no day; false or absent:
    active. Encounters keep their SNOMED code in front of the display."""
    assert statuses(imported) == {
        DEAD_1978: ("deceased", dt.date(1978, 3, 14)),
        DEAD: ("deceased", None),
        SPOUSE: ("active", None),
        LAPSED: ("active", None),
    }
    with imported.sessions() as s:
        depts = set(s.scalars(select(VisitLine.department).where(VisitLine.patient_id == SPOUSE)))
    assert depts == {
        "185349003 encounter for check up (procedure)",
        "50849002 emergency room admission (procedure)",
    }


def test_a_recorded_death_is_never_undone_by_an_import(imported, run, tmp_path):
    """A later bundle that leaves deceased[x] out, or even says deceasedBoolean false, keeps the death."""
    bundle = json.loads(BUNDLE.read_text())
    for entry in bundle["entry"]:
        r = entry["resource"]
        if r["resourceType"] == "Patient":
            r.pop("deceasedDateTime", None)
            r.pop("deceasedBoolean", None)
            if r["id"] == DEAD:
                r["deceasedBoolean"] = False
    again = tmp_path / "again.json"
    again.write_text(json.dumps(bundle))
    assert run("import", "fhir", str(again)).returncode == 0
    got = statuses(imported)
    assert got[DEAD_1978] == ("deceased", dt.date(1978, 3, 14)) and got[DEAD] == ("deceased", None)


def test_scoring_leaves_the_deceased_out_and_names_service_lines(imported, redis_client):
    """The dead are not lapsed, score 0 for reactivation, expect nothing and read 'deceased'; the living
    lapsed patient is lapsed; reasons name service lines, not raw encounter texts; tenure is the span."""
    cache = TierCache(redis_client)
    summary = run_scoring(imported, cache, load_practice(), AS_OF)
    assert summary.deceased == 2 and summary.as_json()["deceased"] == 2
    assert summary.lapsed == 1
    got = scores(imported, summary.run_id)
    for pid in (DEAD_1978, DEAD):
        row = got[pid]
        assert not row.lapsed and row.reactivation_score == 0.0 and row.reasons == "deceased"
        assert row.p_alive == 0.0 and row.expected_visits_12m == 0.0 and row.expected_value_12m == 0.0
    # visits every 6 years from 1935 to 1977: 42 years plus one usual interval, not 91 years to today
    assert 47.5 <= got[DEAD_1978].years_active <= 48.5
    assert got[LAPSED].lapsed
    assert "seen for check-up and office visit" in got[LAPSED].reasons
    assert "encounter" not in got[LAPSED].reasons
    assert "seen for check-up and emergency" in got[SPOUSE].reasons and not got[SPOUSE].lapsed


def test_a_deceased_patient_never_answers_for_a_phone_number(imported, redis_client):
    """The household number names the living husband; the number only the dead man had is nobody's, in the
    cache (complete, so no store query) and in the store's own lookup."""
    cache = TierCache(redis_client)
    run_scoring(imported, cache, load_practice(), AS_OF)
    directory = CallerDirectory(imported, cache)
    household = directory.find(HOUSEHOLD)
    assert household is not None and household.patient_id == SPOUSE and household.source == "cache"
    assert cache.read(DEAD_1978_PHONE).complete and directory.find(DEAD_1978_PHONE) is None
    assert directory.find_in_store(DEAD_1978_PHONE) is None
    store_hit = directory.find_in_store(HOUSEHOLD)
    assert store_hit is not None and store_hit.patient_id == SPOUSE


def test_dashboard_shows_deceased_with_care(imported, services, redis_client):
    """The patient page says deceased (and the day when known), never lapsed or a value to win back, and
    offers no outreach forms; the patient search marks them deceased."""
    run_scoring(imported, TierCache(redis_client), load_practice(), AS_OF)
    client = sign_in(create_app(services=services).test_client(), imported)
    html = client.get(f"/patients/{DEAD_1978}").get_data(as_text=True)
    assert "Deceased on 1978-03-14" in html and "will not contact them" in html
    assert "lapsed" not in html.lower() and "reactivat" not in html.lower()
    assert "P(alive)" not in html and "Lifetime value" not in html
    assert 'id="opt-out-form"' not in html and 'id="consent-form"' not in html
    living = client.get(f"/patients/{LAPSED}").get_data(as_text=True)
    assert "lapsed" in living and 'id="opt-out-form"' in living and "Deceased" not in living
    found = client.post("/patients", data={"q": "Hansen", "csrf_token": csrf(client, "/patients")})
    found = found.get_data(as_text=True)
    assert "Walter Hansen" in found and ">deceased<" in found


def test_patients_csv_status_and_deceased_on_columns(store, tmp_path):
    """Optional `status` (active / inactive / deceased, and the PMS spellings archived, dead...) and
    `deceased_on` columns; a bad value is reported by line and field; a file without them keeps the status."""
    path = tmp_path / "patients.csv"
    path.write_text(
        PATIENTS_HEADER + ",status,deceased_on\n"
        "P1,Ann,Hill,2025550143,,20036,yes,no,no,Deceased,2024-05-06\n"
        "P2,Bo,Reed,2025550144,,20036,no,no,no,archived,\n"
        "P3,Cy,Lee,2025550145,,20036,no,no,no,,2023-01-02\n"
        "P4,Di,Roe,2025550146,,20036,no,no,no,,\n"
    )
    assert import_patients(store, path, progress=False, today=AS_OF).imported
    assert statuses(store) == {
        "P1": ("deceased", dt.date(2024, 5, 6)),
        "P2": ("inactive", None),
        "P3": ("deceased", dt.date(2023, 1, 2)),  # a day of death says the patient died
        "P4": ("active", None),
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        PATIENTS_HEADER + ",status,deceased_on\n"
        "P5,Ed,Ng,2025550147,,20036,no,no,no,sleeping,\n"
        "P6,Fa,Ng,2025550148,,20036,no,no,no,active,2020-01-01\n"
        "P7,Gu,Ng,2025550149,,20036,no,no,no,,1 May\n"
    )
    report = import_patients(store, bad, progress=False, today=AS_OF)
    assert not report.imported
    assert [(e.line, e.field) for e in report.invalid] == [
        (2, "status"),
        (3, "deceased_on"),
        (4, "deceased_on"),
    ]
    # the old layout, no status column: nothing said, the status stays; "active" never undoes a death
    old = tmp_path / "old.csv"
    old.write_text(
        PATIENTS_HEADER + "\nP1,Ann,Hill,2025550143,,20036,yes,no,no\nP2,Bo,Reed,2025550144,,20036,no,no,no\n"
    )
    assert import_patients(store, old, progress=False, today=AS_OF).imported
    revived = tmp_path / "revived.csv"
    revived.write_text(PATIENTS_HEADER + ",status\nP1,Ann,Hill,2025550143,,20036,yes,no,no,active\n")
    assert import_patients(store, revived, progress=False, today=AS_OF).imported
    got = statuses(store)
    assert got["P1"] == ("deceased", dt.date(2024, 5, 6)) and got["P2"] == ("inactive", None)


def test_pms_api_status_and_intake_life_event(services, redis_client):
    """The PMS's `status` / `deceased_on` fields, and an intake form's `deceased` life event, record a death;
    the life event is no opt-out (no opted_out outcome is counted for a death)."""
    api = make_api(services, create_app(services=services))
    people = [
        {"id": "X1", "first_name": "Ann", "status": "deceased"},
        {"id": "X2", "first_name": "Bo", "deceased_on": "2025-02-03"},
        {"id": "X3", "first_name": "Cy", "status": "inactive"},
        {"id": "X4", "first_name": "Di"},
    ]
    assert api.send("PUT", "/api/v1/patients", {"patients": people}).get_json()["added"] == 4
    bad = api.send("PUT", "/api/v1/patients", {"patients": [{"id": "X5", "status": "asleep"}]})
    assert bad.status_code == 422
    got = api.send(
        "POST",
        "/api/v1/intake",
        {
            "event_id": "life-1",
            "patient_id": "X4",
            "life_events": [{"type": "deceased", "date": "2026-11-20"}],
        },
    )
    assert got.status_code == 201 and "status:deceased" in got.get_json()["changed"]
    assert "opted_out" not in got.get_json()["changed"]
    s = statuses(services.store)
    assert s["X1"] == ("deceased", None) and s["X2"] == ("deceased", dt.date(2025, 2, 3))
    assert s["X3"] == ("inactive", None) and s["X4"] == ("deceased", dt.date(2026, 11, 20))
    with services.store.sessions() as session:
        assert not session.get(Patient, "X4").opted_out
        assert not list(session.scalars(select(OutcomeEvent).where(OutcomeEvent.patient_id == "X4")))
    # the PMS's later "active" for them is not a resurrection
    api.send("PUT", "/api/v1/patients", {"patients": [{"id": "X4", "first_name": "Di", "status": "active"}]})
    assert statuses(services.store)["X4"] == ("deceased", dt.date(2026, 11, 20))
