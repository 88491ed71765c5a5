"""`campaign simulate --days N`: a sequence campaign run day by day on a simulated clock (demo only).

A real campaign is started from the plan and carried out by the product's own parts on the simulated clock:
the dispatcher sends through every gate (hours, caps, consent, the patient's lock) to the local Twilio
stand-in (recording only), email goes to a recording mailer, the sequencer advances the steps, and this
module plays the worker (the jobs the product enqueues by name run here, in order, deferrals at their time),
the staff (who make some of the listed staff calls each day) and the patients, who answer with the known
true rates of `simulation/campaign.py` (`TRUE_RESPONSE`): a response is a booking in the outcome log, which
stops the patient's sequence at once. Nothing reaches a real phone or inbox; at the end the campaign is done,
so no real worker carries it on. Each day prints what went out and whose sequence stopped (patient ids only).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import redis as redis_lib
from rq.job import Job
from sqlalchemy import select

from receptionist import jobqueue
from receptionist.clock import utc
from receptionist.config.practice import Practice
from receptionist.jobqueue import Jobs
from receptionist.outcomes.events import Event, month_of
from receptionist.outcomes.record import Outcomes
from receptionist.outreach.campaigns import Campaigns
from receptionist.outreach.channels import Mailer, SmtpTarget
from receptionist.outreach.dispatch import Dispatcher
from receptionist.outreach.limits import Limits
from receptionist.outreach.planner import build_plan
from receptionist.outreach.sequencer import Sequencer
from receptionist.patients.cache import TierCache
from receptionist.simulation.campaign import TRUE_RESPONSE
from receptionist.simulation.localtwilio import LocalTwilio
from receptionist.store import Campaign, OutreachAttempt, Store
from receptionist.telephony.params import CallParams
from receptionist.telephony.rest import TwilioApi
from receptionist.wording.written import written_day

STAFF_WORK_SHARE = 0.6  # of the listed staff calls, the share staff make on a given day
SHOWN = 8  # patient ids printed per line at most
ROUND = dt.timedelta(hours=2)  # how long a round's worker follows deferrals that come due within it


class DayContext(Protocol):
    """What a simulated run uses (the services satisfy it)."""

    @property
    def store(self) -> Store: ...

    @property
    def practice(self) -> Practice: ...

    @property
    def queue_redis(self) -> redis_lib.Redis: ...

    @property
    def redis(self) -> redis_lib.Redis: ...

    def now(self) -> dt.datetime: ...


class InlineJobs(Jobs):
    """The jobs port, kept in process: what the product enqueues by name is run by the simulation, at the
    simulated time it was due, never by a real worker."""

    def __init__(self, connection: redis_lib.Redis) -> None:
        super().__init__(connection)
        self.due: list[tuple[dt.datetime, int, str, tuple[Any, ...]]] = []
        self._n = 0
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.min.replace(tzinfo=dt.UTC)

    def _keep(self, when: dt.datetime, job: str, args: tuple[Any, ...]) -> Job:
        self._n += 1
        heapq.heappush(self.due, (utc(when), self._n, job, args))
        return Job.create(job, args=args, connection=self.connection)

    def enqueue(self, job: str, *args: Any, queue: str = "default", **options: Any) -> Job:
        return self._keep(self.clock(), job, args)

    def enqueue_in(
        self, delay: dt.timedelta, job: str, *args: Any, queue: str = "default", **options: Any
    ) -> Job:
        return self._keep(self.clock() + delay, job, args)

    def enqueue_at(
        self, when: dt.datetime, job: str, *args: Any, queue: str = "default", **options: Any
    ) -> Job:
        return self._keep(when, job, args)

    def enqueue_many(
        self, job: str, calls: Iterable[Sequence[Any]], *, queue: str = "default", **options: Any
    ) -> list[Job]:
        return [self._keep(self.clock(), job, tuple(args)) for args in calls]

    def once_in(
        self,
        marker: str,
        marker_ttl: int,
        delay: dt.timedelta,
        job: str,
        *args: Any,
        queue: str = "default",
        **options: Any,
    ) -> bool:
        return False  # the periodic jobs (reconcile, advance) are the simulation's own loop

    def take_due(self, now: dt.datetime) -> list[str]:
        """The send jobs due by `now`, oldest first (other jobs are the loop's own)."""
        out = []
        while self.due and self.due[0][0] <= now:
            _, _, job, args = heapq.heappop(self.due)
            if job == jobqueue.SEND_ATTEMPT:
                out.append(str(args[0]))
        return out


class RecordingMailer(Mailer):
    """Email that goes nowhere: the message is counted, a Message-ID returned."""

    def __init__(self) -> None:
        super().__init__(SmtpTarget.parse("smtp://127.0.0.1:25?tls=none", "simulation@localhost"))
        self.sent = 0

    def send(self, *, to: str, subject: str, text: str, unsubscribe_url: str) -> str:
        self.sent += 1
        return f"<sim-{self.sent}@localhost>"


def _start_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=zone).astimezone(dt.UTC)


def simulate_days(
    services: DayContext, *, days: int, seed: int = 7, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Start a sequence campaign now and run it for `days` simulated days. Returns counts (no patient data)."""
    rng = np.random.default_rng(seed)
    practice, store = services.practice, services.store
    zone = ZoneInfo(practice.timezone)
    first_day = utc(services.now()).astimezone(zone).date()
    clock = [_start_of_day(first_day, zone)]

    def now() -> dt.datetime:
        return clock[0]

    jobs = InlineJobs(services.queue_redis)
    jobs.clock = now
    twilio = LocalTwilio("ACsimulation", "simulation", play=False, clock=now)
    twilio.start()
    try:
        api = TwilioApi("ACsimulation", "simulation", twilio.base_url)
        outcomes = Outcomes(store, services.redis, practice, now)
        limits = Limits(services.queue_redis)
        mailer = RecordingMailer()
        base = "http://simulation.invalid"
        dispatcher = Dispatcher(
            store=store,
            practice=practice,
            now=now,
            twilio=api,
            mailer=mailer,
            limits=limits,
            jobs=jobs,
            outcomes=outcomes,
            base_url=base,
        )
        campaigns = Campaigns(
            store=store,
            practice=practice,
            now=now,
            dispatcher=dispatcher,
            limits=limits,
            jobs=jobs,
            outcomes=outcomes,
            twilio=api,
            cache=TierCache(services.redis),
            base_url=base,
        )
        sequencer = Sequencer(store=store, practice=practice, now=now, jobs=jobs, email_on=True)
        plan = build_plan(store, practice, now(), email_on=True)
        started = campaigns.start(plan, now())
        cid = started.campaign_id
        echo(
            f"sequence campaign {cid}: {started.attempts} patients ({started.holdout} held out), "
            f"simulated over {days} days from {written_day(now().astimezone(zone).date())}"
        )
        totals: Counter[str] = Counter()
        stopped_total = 0
        for d in range(days):
            day_start = _start_of_day(first_day + dt.timedelta(days=d), zone)
            clock[0] = max(clock[0], day_start)
            sent_today: list[str] = []
            booked_by_staff: list[str] = []
            for hour in (0, 5):  # a morning round and an afternoon one (deferrals for the caps come due)
                clock[0] = max(clock[0], day_start + dt.timedelta(hours=hour))
                sequencer.advance()
                sent_today += _work_round(jobs, dispatcher, store, clock, clock[0] + ROUND)
                made, booked = _staff_round(campaigns, store, cid, rng, clock)
                sent_today += made
                booked_by_staff += booked
            responded = _patients_answer(store, outcomes, sent_today, rng, clock, zone)
            stopped = sorted(set(responded + booked_by_staff))  # a response stops the sequence at once
            went = Counter(_channel_of(store, aid) for aid in sent_today)
            totals.update(went)
            stopped_total += len(stopped)
            what = ", ".join(f"{n} {ch.replace('_', ' ')}" for ch, n in sorted(went.items())) or "nothing"
            line = f"day {d + 1} ({written_day(day_start.astimezone(zone).date())}): sent {what}"
            if stopped:
                line += f"; stopped (responded) {len(stopped)}: {_ids(stopped)}"
            echo(line)
        with store.session() as s:
            c = s.get(Campaign, cid)
            if c is not None:
                c.status, c.finished_at = "done", clock[0]
        return {
            "campaign_id": cid,
            "days": days,
            "sent": dict(totals),
            "stopped": stopped_total,
        }
    finally:
        twilio.stop()


def _work_round(
    jobs: InlineJobs, dispatcher: Dispatcher, store: Store, clock: list[dt.datetime], until: dt.datetime
) -> list[str]:
    """The worker for one round: every send job due, in order, the clock moving on to deferrals (a busy call
    line, pacing) that fall within the round; each call ends a minute after it went out."""
    sent: list[str] = []
    while True:
        due = jobs.take_due(clock[0])
        if not due:
            if jobs.due and jobs.due[0][0] <= until:
                clock[0] = jobs.due[0][0]
                continue
            return sent
        for aid in due:
            clock[0] += dt.timedelta(seconds=1)
            if dispatcher.send(aid) != "sent":
                continue
            sent.append(aid)
            with store.sessions() as s:
                a = s.get(OutreachAttempt, aid)
                channel, sid = (a.channel, a.provider_id) if a is not None else ("", None)
            if channel == "ai_call" and sid:
                clock[0] += dt.timedelta(minutes=1)
                dispatcher.settle_call(
                    aid,
                    CallParams(
                        call_sid=sid, direction="outbound-api", call_status="completed", call_duration=60
                    ),
                )


def _ids(pids: Sequence[str]) -> str:
    shown = ", ".join(pids[:SHOWN])
    return shown + (f" and {len(pids) - SHOWN} more" if len(pids) > SHOWN else "")


def _channel_of(store: Store, attempt_id: str) -> str:
    with store.sessions() as s:
        return s.scalar(select(OutreachAttempt.channel).where(OutreachAttempt.id == attempt_id)) or "?"


def _staff_round(
    campaigns: Campaigns, store: Store, cid: str, rng: np.random.Generator, clock: list[dt.datetime]
) -> tuple[list[str], list[str]]:
    """Staff make some of the listed staff calls and record what came of them: (attempts, patients who
    booked)."""
    with store.sessions() as s:
        listed = s.execute(
            select(OutreachAttempt.id, OutreachAttempt.tier, OutreachAttempt.patient_id).where(
                OutreachAttempt.campaign_id == cid,
                OutreachAttempt.channel == "staff_call",
                OutreachAttempt.status == "listed",
            )
        ).all()
    made, booked_pids = [], []
    for aid, tier, pid in listed:
        if rng.random() >= STAFF_WORK_SHARE:
            continue
        clock[0] += dt.timedelta(minutes=5)
        booked = rng.random() < TRUE_RESPONSE.get(tier, {}).get("staff_call", 0.0)
        campaigns.record_outcome(aid, "booked" if booked else "reached")
        made.append(aid)
        if booked:
            booked_pids.append(pid)
    return made, booked_pids


def _patients_answer(
    store: Store,
    outcomes: Outcomes,
    sent: list[str],
    rng: np.random.Generator,
    clock: list[dt.datetime],
    zone: ZoneInfo,
) -> list[str]:
    """The simulated patients: each contact gets a booking with the true rate of its tier and channel.
    Returns the patients who responded."""
    responded = []
    events: list[Event] = []
    with store.sessions() as s:
        rows = s.scalars(select(OutreachAttempt).where(OutreachAttempt.id.in_(sent))).all()
    for a in rows:
        clock[0] += dt.timedelta(seconds=30)
        if a.channel == "staff_call":
            continue  # staff recorded the outcome themselves
        if rng.random() < TRUE_RESPONSE.get(a.tier, {}).get(a.channel, 0.0):
            at = clock[0]
            month = month_of(a.sent_at or at, zone)
            for key, kind in ((f"responded:{a.id}", "responded"), (f"sim:{a.id}:booked", "booked")):
                events.append(
                    Event(key, kind, a.tier, a.channel, month, at, 0, a.patient_id, a.id, a.campaign_id)
                )
            responded.append(a.patient_id)
    if events:
        outcomes.log.record(events)
    return responded
