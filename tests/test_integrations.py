"""What the other doors change: booking attempts hold outreach back, intake reaches scoring, PMS pushes land."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from receptionist.clock import utc
from receptionist.config.practice import load_practice
from receptionist.outreach.dispatch import TRYING_TO_RETURN
from receptionist.outreach.planner import build_plan
from receptionist.patients.cache import TierCache
from receptionist.patients.scorer import run_scoring
from receptionist.simulation.demo import load_demo
from receptionist.store import OutcomeEvent, OutreachAttempt, Patient, PatientPhone, PatientScore
from receptionist.store.schedule import Appointment, Slot
from receptionist.web import create_app
from tests.api_helpers import make_api
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work


def test_a_booking_attempt_suppresses_a_queued_reactivation_job(world, store):
    """A lapsed patient starts booking online after the campaign queued their call: the job sends nothing."""
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    w = world()
    assert start(w).enqueued == 2
    api = make_api(w.services, w.app)
    got = api.send(
        "POST",
        "/api/v1/booking-events",
        {
            "event_id": "b-1",
            "type": "started",
            "phone": phone_of("P1"),
            "occurred_at": MONDAY_10AM.isoformat(),
        },
    )
    assert got.status_code == 201
    assert got.get_json() | {"lapsed": True} == got.get_json()  # the run says P1 is lapsed
    assert got.get_json()["patient_id"] == "P1" and got.get_json()["trying_to_return"] is True
    work(w)
    rows = attempts(store)
    assert (rows["P1"].status, rows["P1"].reason) == ("skipped", TRYING_TO_RETURN)
    assert rows["P2"].status == "sent"
    assert [c.to for c in w.twilio.calls.values()] == [phone_of("P2")]
    # the dashboard's figures count them (a number, no names)
    stats = api.client.get("/api/stats", headers={"Authorization": f"Bearer {api.key.token}"})
    assert stats.get_json()["trying_to_return"] == 1  # a key with the stats scope
    # and the next plan leaves P1 out for the cool-down
    with store.session() as s:
        s.query(OutreachAttempt).delete()
    plan = build_plan(store, w.services.practice, MONDAY_10AM + dt.timedelta(days=1))
    assert "P1" not in {c.patient_id for c in plan.contacts}


def test_a_completed_online_booking_is_an_appointment_and_an_outcome(world, store):
    """The appointment takes its slot (the AI will not offer it again) and `booked` counts as the response."""
    from receptionist.scheduling.schedule import ensure_schedule

    add_patient(store, "P1", 90, **ALL)
    w = world()
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=1)
    with store.sessions() as s:
        slot = s.scalars(select(Slot).where(Slot.start > MONDAY_10AM).order_by(Slot.start)).first()
    start(w)
    work(w)  # the reactivation text or call goes out first
    api = make_api(w.services, w.app)
    w.clock[0] = MONDAY_10AM + dt.timedelta(hours=2)
    body = {
        "event_id": "b-9",
        "type": "completed",
        "patient_id": "P1",
        "appointment": {
            "id": "WEB-77",
            "start": utc(slot.start).isoformat(),  # SQLite hands back naive UTC: send its offset
            "location_id": slot.location_id,
            "provider": slot.provider,
            "minutes": slot.minutes,
        },
    }
    assert api.send("POST", "/api/v1/booking-events", body).status_code == 201
    assert api.send("POST", "/api/v1/booking-events", body).get_json()["duplicate"] is True
    with store.sessions() as s:
        appt = s.scalar(select(Appointment).where(Appointment.external_id == "WEB-77"))
        assert (appt.patient_id, appt.booked_via, appt.status) == ("P1", "online", "booked")
        assert s.get(Slot, slot.id).appointment_id == appt.id
        kinds = {
            (e.kind, e.channel)
            for e in s.scalars(select(OutcomeEvent).where(OutcomeEvent.patient_id == "P1"))
        }
    attempt = attempts(store)["P1"]
    assert ("booked", attempt.channel) in kinds and ("responded", attempt.channel) in kinds
    booked = [k for k in kinds if k[0] == "booked"]
    assert len(booked) == 1


AS_OF = dt.date(2026, 10, 1)


@pytest.fixture
def scored(services, redis_client, tmp_path):
    load_demo(services.store, tmp_path, patients=600, seed=5, as_of=AS_OF, progress=False)
    services.now = lambda: dt.datetime.combine(AS_OF, dt.time(12), tzinfo=dt.UTC)
    run = run_scoring(services.store, TierCache(redis_client), load_practice(), AS_OF)
    return services, run


def _score(store, run_id: str, pid: str) -> PatientScore:
    with store.sessions() as s:
        return s.get(PatientScore, (run_id, pid))


def test_an_intake_address_change_moves_the_reactivation_score(scored, redis_client):
    """A lapsed patient reports a new zip in another area: after re-scoring, their reactivation score falls;
    a re-score was scheduled; the change is stored once however often it is delivered."""
    services, first = scored
    with services.store.sessions() as s:
        pid, old_zip = s.execute(
            select(PatientScore.patient_id, Patient.zip)
            .join(Patient, Patient.id == PatientScore.patient_id)
            .where(
                PatientScore.run_id == first.run_id,
                PatientScore.lapsed.is_(True),
                Patient.zip != "",
                Patient.moved_away.is_(False),
                PatientScore.reactivation_score > 0,
            )
            .order_by(PatientScore.reactivation_score.desc())
            .limit(1)
        ).one()
    before = _score(services.store, first.run_id, pid).reactivation_score
    new_zip = "99501" if not old_zip.startswith("995") else "10001"
    api = make_api(services, create_app(services=services))
    body = {
        "event_id": "intake-42",
        "patient_id": pid,
        "address": {"line1": "1 Main St", "zip": new_zip},
        "contact_preferences": {"text": False},
    }
    got = api.send("POST", "/api/v1/intake", body)
    assert got.status_code == 201 and set(got.get_json()["changed"]) == {"zip", "contact_preferences"}
    assert api.send("POST", "/api/v1/intake", body).get_json()["duplicate"] is True
    with services.store.sessions() as s:
        p = s.get(Patient, pid)
        assert (p.zip, p.previous_zip, p.moved_away, p.zip_changed_on) == (new_zip, old_zip, True, AS_OF)
        assert p.contact_preferences["text"] is False
    assert redis_client.exists("rcp:integrations:rescore")
    assert len(services.queue.scheduled_job_registry.get_job_ids()) == 1
    second = run_scoring(services.store, TierCache(redis_client), load_practice(), AS_OF)
    after = _score(services.store, second.run_id, pid)
    assert after.reactivation_score < before * 0.2, (before, after.reactivation_score)


def test_a_booking_attempt_raises_the_reactivation_score(scored, redis_client):
    """Trying to return is the strongest sign there is: P(return) rises to the booking floor."""
    services, first = scored
    with services.store.sessions() as s:
        pid = s.scalars(
            select(PatientScore.patient_id)
            .join(Patient, Patient.id == PatientScore.patient_id)
            .where(
                PatientScore.run_id == first.run_id,
                PatientScore.lapsed.is_(True),
                Patient.opted_out.is_(False),
                PatientScore.plv > 0,
                PatientScore.p_alive < 0.5,
            )
            .limit(1)
        ).first()
    api = make_api(services, create_app(services=services))
    assert (
        api.send(
            "POST", "/api/v1/booking-events", {"event_id": "s-1", "type": "abandoned", "patient_id": pid}
        ).status_code
        == 201
    )
    before = _score(services.store, first.run_id, pid)
    second = run_scoring(services.store, TierCache(redis_client), load_practice(), AS_OF)
    after = _score(services.store, second.run_id, pid)
    assert after.reactivation_score > before.reactivation_score
    assert after.reactivation_score == pytest.approx(0.9 * after.plv, abs=0.01)  # plv x the booking floor


def test_intake_phones_consents_opt_out_and_life_events(services, redis_client):
    """New phones reach the store and make the tier cache incomplete; withdrawing outreach consent opts out at
    once (pending attempts skipped); a reported move counts as moved away; an unknown patient is a 404."""
    add_patient(services.store, "P1", 90, **ALL)
    cache = TierCache(redis_client)
    cache.publish("R1", [(phone_of("P1"), "mid", "P1")], complete_at=cache.epoch())
    assert cache.read("+12025550999").complete
    api = make_api(services, create_app(services=services))
    got = api.send(
        "POST",
        "/api/v1/intake",
        {
            "event_id": "i-1",
            "patient_id": "P1",
            "phones": ["202-555-0999", "(202) 555-0999"],
            "consents": {"sms": False},
            "life_events": [{"type": "moved"}],
        },
    )
    assert got.status_code == 201, got.get_json()
    assert not cache.read("+12025550999").complete  # misses go to the store until the next score run
    with services.store.sessions() as s:
        assert list(s.scalars(select(PatientPhone.phone).where(PatientPhone.patient_id == "P1"))) == [
            "+12025550999"
        ]
        p = s.get(Patient, "P1")
        assert (p.consent_sms, p.consent_voice, p.moved_away, p.opted_out) == (False, True, True, False)
    out = api.send(
        "POST", "/api/v1/intake", {"event_id": "i-2", "patient_id": "P1", "consents": {"outreach": False}}
    )
    assert "opted_out" in out.get_json()["changed"]
    with services.store.sessions() as s:
        assert s.get(Patient, "P1").opted_out
    missing = api.send("POST", "/api/v1/intake", {"event_id": "i-3", "patient_id": "NOPE", "email": "a@b.c"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "unknown_patient"


def test_pms_upserts_follow_the_importer_rules(services, redis_client):
    """Patients by id (a zip change kept, opt-outs never undone, phones tell the cache); visits by id (a
    changed amount updated, a repeat adds nothing); appointments by id, holding and freeing their slot."""
    from receptionist.scheduling.schedule import ensure_schedule

    api = make_api(services, create_app(services=services))
    person = {"id": "X1", "first_name": "Ann", "phones": ["202 555 0177"], "zip": "20001", "opted_out": True}
    assert api.send("PUT", "/api/v1/patients", {"patients": [person]}).get_json()["added"] == 1
    cache = TierCache(redis_client)
    cache.publish("R1", [("+12025550177", "mid", "X1")], complete_at=cache.epoch())
    assert cache.read("+12025550100").complete
    moved = api.send(
        "PUT", "/api/v1/patients", {"patients": [{**person, "zip": "94110", "opted_out": False}]}
    )
    assert moved.get_json() == {"received": 1, "added": 0, "updated": 1, "unchanged": 0, "warnings": []}
    assert not cache.read("+12025550100").complete
    with services.store.sessions() as s:
        p = s.get(Patient, "X1")
        assert (p.zip, p.previous_zip, p.moved_away, p.opted_out) == ("94110", "20001", True, True)
    visit = {"id": "V-1", "patient_id": "X1", "date": "2026-01-05", "amount": 100, "department": "Hygiene"}
    assert api.send("PUT", "/api/v1/visits", {"visits": [visit]}).get_json()["added"] == 1
    fixed = api.send("PUT", "/api/v1/visits", {"visits": [{**visit, "amount": 80.25}]}).get_json()
    assert (fixed["added"], fixed["updated"]) == (0, 1)
    from receptionist.store import VisitLine

    with services.store.sessions() as s:
        line = s.scalar(select(VisitLine).where(VisitLine.line_key == "v:V-1"))
        assert (line.amount_cents, line.paid_cents, line.department) == (8025, 8025, "hygiene")
    ensure_schedule(services.store, services.practice, MONDAY_10AM.date(), weeks=1)
    with services.store.sessions() as s:
        slot = s.scalars(select(Slot).order_by(Slot.start)).first()
    appt = {
        "id": "PMS-A1",
        "patient_id": "X1",
        "start": utc(slot.start).isoformat(),  # SQLite hands back naive UTC: send its offset
        "location_id": slot.location_id,
        "provider": slot.provider,
    }
    assert api.send("PUT", "/api/v1/appointments", {"appointments": [appt]}).get_json()["added"] == 1
    with services.store.sessions() as s:
        held = s.get(Slot, slot.id).appointment_id
        assert held == s.scalar(select(Appointment.id).where(Appointment.external_id == "PMS-A1"))
    cancelled = api.send("PUT", "/api/v1/appointments", {"appointments": [{**appt, "status": "cancelled"}]})
    assert cancelled.get_json()["updated"] == 1
    with services.store.sessions() as s:
        assert s.get(Slot, slot.id).appointment_id is None
    wrong = api.send("PUT", "/api/v1/appointments", {"appointments": [{**appt, "location_id": "mars"}]})
    assert wrong.status_code == 422


def test_doubtful_data_is_refused_or_warned(services):
    """A time without a UTC offset is a 422 naming the field; an unknown provider, a phone another patient has
    and a booking event that matches no patient are stored with a warning naming the field."""
    api = make_api(services, create_app(services=services))
    naive = api.send(
        "PUT",
        "/api/v1/appointments",
        {"appointments": [{"id": "A1", "patient_id": "X1", "start": "2026-12-08T14:00:00"}]},
    )
    assert naive.status_code == 422
    assert "appointments.0.start" in naive.get_json()["error"]["message"]
    assert "UTC offset" in naive.get_json()["error"]["message"]
    odd = api.send(
        "PUT",
        "/api/v1/appointments",
        {
            "appointments": [
                {
                    "id": "A1",
                    "patient_id": "X1",
                    "start": "2026-12-08T14:00:00-05:00",
                    "provider": "Dr. Nobody",
                }
            ]
        },
    )
    assert odd.status_code == 200 and odd.get_json()["added"] == 1
    assert [w["field"] for w in odd.get_json()["warnings"]] == ["appointments[0].provider"]
    assert "Dr. Nobody" in odd.get_json()["warnings"][0]["message"]
    first = {"id": "X1", "first_name": "Ann", "phones": ["202 555 0177"]}
    assert api.send("PUT", "/api/v1/patients", {"patients": [first]}).get_json()["warnings"] == []
    second = {"id": "X2", "first_name": "Bo", "phones": ["+1 202 555 0199", "(202) 555-0177"]}
    shared = api.send("PUT", "/api/v1/patients", {"patients": [second]}).get_json()
    assert shared["added"] == 1
    assert [w["field"] for w in shared["warnings"]] == ["patients[0].phones[1]"]
    assert "X1" in shared["warnings"][0]["message"]
    nobody = api.send(
        "POST", "/api/v1/booking-events", {"event_id": "e-404", "type": "started", "patient_id": "NOPE"}
    )
    assert nobody.status_code == 201 and nobody.get_json()["patient_id"] is None
    assert [w["field"] for w in nobody.get_json()["warnings"]] == ["patient_id"]


def test_a_pms_appointment_on_a_time_the_ai_booked_is_a_409(services, redis_client):
    """The PMS pushes a visit onto a provider's time the AI receptionist booked first: 409 `slot_taken` naming
    the entry and who booked it, and nothing of the request is stored; the PMS's own visit moved onto its own
    time, or onto a free time, is fine."""
    from receptionist.scheduling.schedule import ensure_schedule

    api = make_api(services, create_app(services=services))
    ensure_schedule(services.store, services.practice, MONDAY_10AM.date(), weeks=1)
    with services.store.session() as s:
        s.add(Patient(id="P-ai", first_name="Al"))
        s.flush()
        slot = s.scalars(select(Slot).order_by(Slot.start)).first()
        booked = Appointment(
            patient_id="P-ai",
            location_id=slot.location_id,
            provider=slot.provider,
            start=slot.start,
            minutes=60,
            kind="cleaning",
            status="booked",
            booked_via="ai",
        )
        s.add(booked)
        at, where, who = utc(slot.start), slot.location_id, slot.provider
    clash = {
        "id": "PMS-9",
        "patient_id": "X9",
        "start": (at + dt.timedelta(minutes=30)).isoformat(),
        "minutes": 30,
        "location_id": where,
        "provider": who,
    }
    free = {**clash, "id": "PMS-8", "start": (at + dt.timedelta(hours=2)).isoformat()}
    refused = api.send("PUT", "/api/v1/appointments", {"appointments": [free, clash]})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "slot_taken" and "appointments[1]" in error["message"]
    assert "the AI receptionist" in error["message"]
    with services.store.sessions() as s:
        assert s.scalar(select(Appointment).where(Appointment.external_id.in_(["PMS-8", "PMS-9"]))) is None
        assert s.get(Patient, "X9") is None
    assert api.send("PUT", "/api/v1/appointments", {"appointments": [free]}).get_json()["added"] == 1
    later = {**free, "start": (at + dt.timedelta(hours=2, minutes=30)).isoformat()}  # its own time moved
    assert api.send("PUT", "/api/v1/appointments", {"appointments": [later]}).get_json()["updated"] == 1
    other = {**clash, "provider": "Dr. Elsewhere", "id": "PMS-7"}  # another provider: no clash
    assert api.send("PUT", "/api/v1/appointments", {"appointments": [other]}).status_code == 200
