"""Shared set-up for campaign tests: a scored practice, the Twilio stand-in wired to the app, a clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from sqlalchemy import select

from receptionist.config.practice import load_practice
from receptionist.config.settings import Settings
from receptionist.outreach.planner import build_plan
from receptionist.runtime.services import build_services
from receptionist.simulation.localtwilio import Callee, LocalTwilio
from receptionist.simulation.simulator import FlaskTransport
from receptionist.store import OutreachAttempt, Patient, PatientPhone, PatientScore, ScoreRun, VisitLine
from receptionist.web import create_app

# A Monday, 10:00 in Washington DC (the demo practice's zone and its patients' numbers' zone).
MONDAY_10AM = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
ALL = {"consent_voice": True, "consent_sms": True, "consent_written": True}
TOKEN = "test-auth-token"


def phone_of(pid: str) -> str:
    return f"+1202555{int(pid[1:]):04d}"


def add_patient(
    store, pid: str, score: float, tier: str = "mid", *, email: str = "", phone: bool = True, **patient
) -> None:
    with store.session() as s:
        if s.get(ScoreRun, "R1") is None:
            s.add(
                ScoreRun(
                    id="R1",
                    as_of=MONDAY_10AM.date(),
                    patients=0,
                    lapsed=0,
                    tiers={},
                    model={},
                    seconds=0.0,
                    published_at=MONDAY_10AM,
                )
            )
            s.flush()
        s.add(
            Patient(
                id=pid,
                first_name=f"Pat{pid[1:]}",
                last_name="Example",
                email=email,
                has_contact=True,
                **patient,
            )
        )
        s.flush()
        if phone:
            s.add(PatientPhone(patient_id=pid, phone=phone_of(pid), position=0))
        s.add(
            PatientScore(
                run_id="R1",
                patient_id=pid,
                tier=tier,
                plv=1000.0,
                annual_value=500.0,
                years_active=6.0,
                departments=2,
                p_alive=0.5,
                expected_visits_12m=1.0,
                expected_value_12m=300.0,
                lapsed=True,
                reactivation_score=score,
                reasons="6 years, $500/yr, 2 departments, last visit 14 months ago, lapsed",
                last_visit=dt.date(2025, 9, 20),
            )
        )
        s.add(
            VisitLine(
                line_key=f"{pid}-1",
                patient_id=pid,
                day=dt.date(2025, 9, 20),
                amount_cents=16000,
                paid_cents=16000,
                department="hygiene",
            )
        )


def practice(**outreach):
    p = load_practice()
    rules = {"staff_call_list_size": 0, "holdout_share": 0.0, "calls_per_second": 50.0, **outreach}
    return dataclasses.replace(p, outreach=dataclasses.replace(p.outreach, **rules))


@dataclasses.dataclass
class World:
    services: object
    app: object
    twilio: LocalTwilio
    settings: Settings
    clock: list[dt.datetime]

    def env(self) -> dict[str, str]:
        """The environment a worker process needs to join this world, on this world's clock (it starts where
        the clock stands now and runs on from there)."""
        s = self.settings
        return {
            "DATABASE_URL": s.database_url or "",
            "REDIS_URL": s.redis_url or "",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_API_BASE_URL": self.twilio.base_url,
            "PUBLIC_BASE_URL": s.base_url,
            "RECEPTIONIST_HOME": str(s.home),
            "RECEPTIONIST_CLOCK": self.clock[0].isoformat(),
        }


def make_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    *,
    callees: dict[str, Callee] | None = None,
    smtp_url: str | None = None,
    play: bool = True,
    **outreach,
) -> World:
    if play:
        # The stand-in plays calls in threads that `wait_idle` gives 30 s: train the understanding now (once a
        # process, 8 s of CPU) rather than inside the first call on a busy machine.
        from receptionist.conversation import nlu

        nlu.warm()
    settings_probe = Settings(receptionist_home=tmp_path, twilio_auth_token=TOKEN)
    clock = [MONDAY_10AM]
    twilio = LocalTwilio(
        settings_probe.account_sid, TOKEN, callees=callees, play=play, clock=lambda: clock[0]
    )
    twilio.start()
    settings = Settings(
        receptionist_home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        twilio_auth_token=TOKEN,
        public_base_url="http://testserver",
        twilio_api_base_url=twilio.base_url,
        smtp_url=smtp_url,
    )
    services = build_services(settings, migrate=False)
    services.practice = practice(**outreach)
    services.now = lambda: clock[0]
    app = create_app(services=services)
    twilio.transport = FlaskTransport(app, base_url="http://testserver")
    return World(services, app, twilio, settings, clock)


def attempts(store) -> dict[str, OutreachAttempt]:
    """Every outreach attempt in the store, by patient."""
    with store.sessions() as s:
        return {a.patient_id: a for a in s.scalars(select(OutreachAttempt))}


def start(w):
    plan = build_plan(w.services.store, w.services.practice, w.clock[0])
    return w.services.campaigns.start(plan, w.clock[0])


def work(w, *, expect_jobs: bool = True) -> None:
    """A real RQ worker in burst mode, in this process (no fork: the app and the stand-in run threads here)."""
    from rq import SimpleWorker

    from receptionist import jobs
    from receptionist.runtime.worker import queues

    jobs.bind(w.services)
    worked = SimpleWorker(queues(w.services), connection=w.services.queue_redis).work(
        burst=True, with_scheduler=True
    )
    assert worked == expect_jobs
    w.twilio.wait_idle()
    # what the worker's drain loop does every 2 s: the call journal, then the status callbacks that waited
    # for it (a final status that met another drain holding the journal is applied here, as in production)
    from receptionist.runtime.worker import drain_once

    drain_once(w.services)
