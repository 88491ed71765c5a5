"""Sequences benchmark: a day of an N-patient practice's reactivation sequences against today's single-step plan.

    python sequences.py PATIENTS AI_SLOTS RATE

Prints JSON. Measured in the same run, each on a fresh store of the same N scored patients (5% with an email
address, every consent), with the in-process dispatcher sending through every gate to the local Twilio
stand-in (recording only; email to a recording mailer), at a configured rate of RATE sends a second (the
practice's `calls_per_second`; texts paced at the same rate here, as a registered texting campaign allows):
- single: today's plan (sequences off): plan, start, and the day's dispatch;
- sequences, day 0: the plan with sequences (each patient's sequence and entry step), start, dispatch;
- sequences, day 7: the day the follow-up steps come due. Every call of day 0 ended, 10% of the patients
  reached responded (which must stop them); the sequencer writes the due steps (planning) and the
  dispatcher sends them (dispatch).
Sends a second are the stand-in's and the mailer's count over the dispatch's wall time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRACTICE = """
[practice]
name = "Benchmark Dental"
timezone = "America/New_York"

[[locations]]
id = "main"
name = "Benchmark Dental"
phone = "+12025550100"
timezone = "America/New_York"
staff_numbers = ["+12025550111"]

[locations.hours]
mon = "08:00-17:00"

[outreach]
staff_call_list_size = 20
ai_contact_list_size = {slots}
holdout_share = 0.0
calls_per_second = {rate}
max_concurrent_calls = 1000000
cooldown_days = 30
"""
MONDAY_10AM = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)


def populate(store, n: int) -> None:
    """N lapsed, scored, consenting patients with Washington numbers; one in 20 with an email address."""
    from receptionist.store import Patient, PatientPhone, PatientScore, ScoreRun

    with store.session() as s:
        s.add(
            ScoreRun(
                id="R1",
                as_of=MONDAY_10AM.date(),
                patients=n,
                lapsed=n,
                tiers={},
                model={},
                seconds=0.0,
                created_at=MONDAY_10AM,
                published_at=MONDAY_10AM,
            )
        )
    patients, phones, scores = [], [], []
    for i in range(n):
        pid = f"B{i:07d}"
        patients.append(
            {
                "id": pid,
                "first_name": "Pat",
                "last_name": "Bench",
                "email": f"{pid}@example.com" if i % 20 == 7 else "",
                "zip": "20001",
                "has_contact": True,
                "consent_voice": True,
                "consent_sms": True,
                "consent_written": True,
                "opted_out": False,
            }
        )
        phones.append({"patient_id": pid, "phone": f"+1202{2000000 + i:07d}", "position": 0})
        tier = "high" if i % 10 == 0 else "mid" if i % 3 == 0 else "low"
        scores.append(
            {
                "run_id": "R1",
                "patient_id": pid,
                "tier": tier,
                "plv": 1000.0,
                "annual_value": 300.0,
                "years_active": 4.0,
                "departments": 2,
                "p_alive": 0.3,
                "expected_visits_12m": 0.5,
                "expected_value_12m": 100.0,
                "lapsed": True,
                "reactivation_score": float(n - i),
                "reasons": "4 years, $300/yr, 2 departments, last visit 20 months ago, lapsed",
                "last_visit": (MONDAY_10AM - dt.timedelta(days=600)).date(),
            }
        )
    with store.engine.begin() as conn:
        for table, rows in (
            (Patient.__table__, patients),
            (PatientPhone.__table__, phones),
            (PatientScore.__table__, scores),
        ):
            for i in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[i : i + 20000])


class World:
    """One fresh store and the product's outreach parts on a simulated clock, in process."""

    def __init__(self, home: Path, name: str, twilio, sequences_on: bool) -> None:
        from receptionist.config.sequences import Sequences
        from receptionist.config.settings import load_settings
        from receptionist.outcomes.record import Outcomes
        from receptionist.outreach.campaigns import Campaigns
        from receptionist.outreach.dispatch import Dispatcher
        from receptionist.outreach.limits import Limits
        from receptionist.outreach.sequencer import Sequencer
        from receptionist.patients.cache import TierCache
        from receptionist.runtime.services import build_services
        from receptionist.simulation.sequence_days import InlineJobs, RecordingMailer
        from receptionist.telephony.rest import TwilioApi

        self.clock = [MONDAY_10AM]
        now = self.now
        settings = load_settings(
            database_url=f"sqlite:///{home / name}.db", twilio_api_base_url=twilio.base_url
        )
        self.services = build_services(settings)
        p = self.services.practice
        self.practice = dataclasses.replace(p, sequences=Sequences(sequences_on, p.sequences.sequences, {}))
        store, redis = self.services.store, self.services.queue_redis
        self.store = store
        self.twilio = twilio
        self.jobs = InlineJobs(redis)
        self.jobs.clock = now
        self.mailer = RecordingMailer()
        api = TwilioApi(settings.account_sid, settings.auth_token, twilio.base_url)
        self.outcomes = Outcomes(store, self.services.redis, self.practice, now)
        limits = Limits(redis)
        self.dispatcher = Dispatcher(
            store=store,
            practice=self.practice,
            now=now,
            twilio=api,
            mailer=self.mailer,
            limits=limits,
            jobs=self.jobs,
            outcomes=self.outcomes,
            base_url="http://bench.invalid",
        )
        self.campaigns = Campaigns(
            store=store,
            practice=self.practice,
            now=now,
            dispatcher=self.dispatcher,
            limits=limits,
            jobs=self.jobs,
            outcomes=self.outcomes,
            twilio=api,
            cache=TierCache(self.services.redis),
            base_url="http://bench.invalid",
        )
        self.sequencer = Sequencer(
            store=store, practice=self.practice, now=now, jobs=self.jobs, email_on=True
        )

    def now(self) -> dt.datetime:
        return self.clock[0]

    def sends(self) -> int:
        return len(self.twilio.calls) + len(self.twilio.messages) + self.mailer.sent

    def dispatch(self) -> dict[str, Any]:
        """Every job due now, in order, through the gates; what went out and how fast."""
        before = self.sends()
        t = time.perf_counter()
        results: dict[str, int] = {}
        while True:
            due = self.jobs.take_due(self.now() + dt.timedelta(seconds=15))  # deferrals for pacing included
            if not due:
                break
            for aid in due:
                got = self.dispatcher.send(aid).split(":")[0]
                results[got] = results.get(got, 0) + 1
        wall = time.perf_counter() - t
        sent = self.sends() - before
        return {
            "dispatch_s": wall,
            "sent": sent,
            "sends_per_s": sent / wall if wall else 0.0,
            "results": results,
        }

    def day0(self) -> dict[str, Any]:
        from receptionist.outreach.planner import build_plan

        t = time.perf_counter()
        plan = build_plan(self.store, self.practice, self.now(), email_on=True)
        started = self.campaigns.start(plan, self.now())
        planning = time.perf_counter() - t
        self.campaign_id = started.campaign_id
        return {"plan_s": planning, "contacts": len(plan.contacts), **self.dispatch()}

    def end_calls_and_respond(self, share: float) -> int:
        """Every call of the day ends; `share` of the patients reached book online (they must stop)."""
        from sqlalchemy import select

        from receptionist.store import OutreachAttempt
        from receptionist.telephony.params import CallParams

        with self.store.sessions() as s:
            sent = s.execute(
                select(
                    OutreachAttempt.id,
                    OutreachAttempt.patient_id,
                    OutreachAttempt.channel,
                    OutreachAttempt.provider_id,
                )
                .where(OutreachAttempt.sent_at.is_not(None))
                .order_by(OutreachAttempt.id)
            ).all()
        self.clock[0] += dt.timedelta(minutes=30)
        responded = 0
        every = max(1, round(1 / share))
        for i, (aid, pid, channel, sid) in enumerate(sent):
            if channel == "ai_call" and sid:
                self.dispatcher.settle_call(
                    aid,
                    CallParams(
                        call_sid=sid, direction="outbound-api", call_status="completed", call_duration=50
                    ),
                )
            if i % every == 0:
                self.outcomes.booked_online(pid, f"bench:{pid}", self.now())
                responded += 1
        return responded

    def follow_up_day(self, day: int) -> dict[str, Any]:
        self.clock[0] = MONDAY_10AM + dt.timedelta(days=day, hours=1)
        t = time.perf_counter()
        counts = self.sequencer.advance()
        planning = time.perf_counter() - t
        return {
            "plan_s": planning,
            "created": counts["created"],
            "stopped": counts["stopped"],
            **self.dispatch(),
        }


def main() -> None:
    n, slots, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix="rcp-sequences-") as tmp:
        home = Path(tmp)
        practice_file = home / "practice.toml"
        practice_file.write_text(PRACTICE.format(slots=slots, rate=rate))
        os.environ.update(
            RECEPTIONIST_HOME=str(home),
            PRACTICE_FILE=str(practice_file),
            PUBLIC_BASE_URL="http://127.0.0.1:9",
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        from receptionist.config.settings import load_settings
        from receptionist.outreach import dispatch
        from receptionist.simulation.localtwilio import LocalTwilio

        probe = load_settings()

        dispatch.SMS_PER_SECOND = rate  # texts paced like calls here (a registered campaign's throughput)
        out: dict[str, Any] = {"patients": n, "ai_slots": slots, "configured_rate": rate}
        worlds = []
        for name, on in (("single", False), ("sequences", True)):
            twilio = LocalTwilio(probe.account_sid, probe.auth_token, play=False)
            twilio.start()
            w = World(home, name, twilio, on)
            worlds.append(w)
            w.twilio.clock = w.now
            populate(w.store, n)
            w.services.queue_redis.flushdb()  # locks and pacing of the other run
            out[name] = {"day0": w.day0()}
        seq = worlds[1]
        out["sequences"]["responded_before_day7"] = seq.end_calls_and_respond(0.10)
        out["sequences"]["day7"] = seq.follow_up_day(7)
        single, day0, day7 = out["single"]["day0"], out["sequences"]["day0"], out["sequences"]["day7"]
        total = lambda d: d["plan_s"] + d["dispatch_s"]  # noqa: E731 - a one-line helper for the ratios
        out["ratio_day0"] = total(day0) / total(single)
        out["ratio_per_send_day7"] = (total(day7) / max(day7["sent"], 1)) / (
            total(single) / max(single["sent"], 1)
        )
        print(json.dumps(out))
        for w in worlds:
            w.twilio.stop()
        import subprocess

        env = {**os.environ, "REDIS_URL": worlds[0].services.redis_url}
        for w in worlds:
            w.services.close()
        subprocess.run(
            [sys.executable, "-m", "receptionist.cli", "redis", "stop"], env=env, capture_output=True
        )


if __name__ == "__main__":
    main()
