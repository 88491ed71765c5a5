"""Two-way texting (issue 16): a reply to a practice text is a conversation with the call's understanding and
policies, in SMS-sized written lines; hand-overs reach the staff inbox; staff reply through the Twilio
stand-in within the gates; STOP and HELP keep working first."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from receptionist.scheduling.schedule import ensure_schedule
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Appointment, Callback, ConsentConfirmation, Patient, TextMessage, TextThread
from receptionist.texting import sms
from receptionist.texting.replies import reply_problem
from tests.dashboard_helpers import csrf, sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work

PRACTICE_NUMBER = "+12025550100"
DOB = dt.date(1980, 3, 4)


class Texter:
    """Signed form posts to /sms/inbound, as Twilio makes them; each returns the reply texts."""

    def __init__(self, w, frm: str) -> None:
        self.w = w
        self.frm = frm
        self.n = 0
        self.sim = CallSimulator(FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token")

    def __call__(self, body: str) -> list[str]:
        self.n += 1
        params = {
            "MessageSid": f"SM{self.frm[-4:]}{self.n:04d}",
            "From": self.frm,
            "To": PRACTICE_NUMBER,
            "Body": body,
            "AccountSid": "AC" + "0" * 32,
        }
        url = "http://testserver/sms/inbound"
        status, xml = self.sim.transport.post(url, params, {"X-Twilio-Signature": self.sim.sign(url, params)})
        assert status == 200
        replies = [m.text or "" for m in ET.fromstring(xml).iter("Message")]
        for r in replies:
            assert 0 < len(r) <= 160, r
        return replies


def _joined(replies: list[str]) -> str:
    return " ".join(replies)


@pytest.fixture
def texting_world(world, store):
    """Two patients on file with dates of birth, a schedule of open slots, the clock on a Monday at 10:00."""
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    with store.session() as s:
        s.get(Patient, "P1").date_of_birth = DOB
        s.get(Patient, "P2").date_of_birth = dt.date(1975, 6, 1)
    w = world()
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=3)
    return w


def test_smoke(texting_world, store):
    """x"""
    w = texting_world
    start(w)
    work(w)
    print({k: (a.channel, a.status) for k, a in attempts(store).items()})
    t = Texter(w, phone_of("P1"))
    print(t("yes can I come Tuesday?"))
    print(t("1"))
    print(t("what are your hours"))
    print(t("can I talk to a person"))
    print(t("when is my appointment"))
    print(t("March 4, 1980"))
    print(t("asdf qwer zxcv"))
    assert False
