"""Outreach never reaches a deceased patient: left out of the plan, skipped when the death is recorded after
planning (any channel), off the staff call list and the general-campaign export, refused for "call now"."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from receptionist.outreach.campaigns import CampaignError
from receptionist.outreach.planner import build_plan
from receptionist.store import Patient
from tests.outreach_helpers import ALL, add_patient, attempts, practice, start, work


def _die(store, *pids: str) -> None:
    with store.session() as s:
        for pid in pids:
            p = s.get(Patient, pid)
            p.status, p.deceased_on = "deceased", dt.date(2026, 11, 1)


def test_plan_leaves_the_deceased_out_whatever_the_run_says(store):
    """A death recorded after the score run still keeps the patient out of every channel of the plan."""
    add_patient(store, "P1", 90, tier="high", email="a@example.com", **ALL)
    add_patient(store, "P2", 80, tier="high", email="b@example.com", **ALL)
    add_patient(store, "P3", 70, tier="low")  # no consent: the general campaign
    add_patient(store, "P4", 60, tier="low")
    _die(store, "P2", "P4")
    plan = build_plan(store, practice(staff_call_list_size=5), dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC))
    assert {c.patient_id: c.channel for c in plan.contacts} == {"P1": "staff_call", "P3": "general"}


def test_a_death_after_planning_stops_every_channel(world, store, tmp_path):
    """Attempts already queued (AI call, text) are skipped as deceased when their job runs; the staff list
    and the general export drop the patient; "call now" refuses."""
    add_patient(store, "P1", 90, tier="high")  # staff call
    add_patient(store, "P2", 80, **ALL)  # AI call
    add_patient(store, "P3", 70, consent_sms=True, consent_written=True)  # text
    add_patient(store, "P4", 60)  # general campaign
    add_patient(store, "P5", 50, **ALL)  # alive: still called
    w = world(staff_call_list_size=1, ai_contact_list_size=4)
    start(w)
    before = {pid: a.channel for pid, a in attempts(store).items()}
    assert before == {"P1": "staff_call", "P2": "ai_call", "P3": "sms", "P4": "general", "P5": "ai_call"}
    listed = w.services.campaigns.staff_list(None)
    _die(store, "P1", "P2", "P3", "P4")
    work(w)
    got = attempts(store)
    for pid in ("P2", "P3"):
        assert (got[pid].status, got[pid].reason) == ("skipped", "deceased")
    assert got["P5"].status == "sent"
    assert [c.to for c in w.twilio.calls.values()] == ["+12025550005"] and not w.twilio.messages
    assert w.services.campaigns.staff_list(None) == []
    with pytest.raises(CampaignError, match="deceased"):
        w.services.campaigns.call_now(listed[0]["attempt_id"], "+12025550111")
    out = tmp_path / "general.csv"
    assert w.services.campaigns.export_general(None, out) == 0
    with out.open() as fh:
        assert list(csv.reader(fh))[1:] == []


def test_made_inactive_in_the_pms_after_planning_stops_the_attempts(world, store):
    """A patient the PMS marks inactive (archived, non-patient) after planning is skipped as inactive when the
    job runs, and drops off the staff list, like a death."""
    add_patient(store, "P1", 90, tier="high")  # staff call
    add_patient(store, "P2", 80, **ALL)  # AI call
    add_patient(store, "P3", 70, consent_sms=True, consent_written=True)  # text
    add_patient(store, "P5", 50, **ALL)  # still active: still called
    w = world(staff_call_list_size=1, ai_contact_list_size=3)
    start(w)
    with store.session() as s:
        for pid in ("P1", "P2", "P3"):
            s.get(Patient, pid).status = "inactive"
    work(w)
    got = attempts(store)
    for pid in ("P2", "P3"):
        assert (got[pid].status, got[pid].reason) == ("skipped", "inactive")
    assert got["P5"].status == "sent" and not w.twilio.messages
    assert [c.to for c in w.twilio.calls.values()] == ["+12025550005"]
    assert w.services.campaigns.staff_list(None) == []
