"""The job worker: an RQ worker with its scheduler (for delayed and retried jobs) on the configured Redis.

Beside the jobs it drains the call journal into SQL every `DRAIN_EVERY_S` seconds (a thread of the worker's
own process, so the journal is drained even while the queues are busy; the journal's lock keeps several
workers from draining at once), and every few minutes asks Twilio about inbound calls whose final status
never came (`voice/reconcile.py`; one worker at a time, by a marker in Redis); once a practice day, at
`[recall] run_at`, it enqueues the day's recall reminders.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from zoneinfo import ZoneInfo

import redis
from rq import Queue, Worker
from rq.job import Job
from rq.worker.base import BaseWorker
from sqlalchemy.exc import SQLAlchemyError

from receptionist import jobqueue, jobs
from receptionist.runtime.services import Services
from receptionist.store import keys
from receptionist.voice import journal, reconcile

QUEUES = ("high", "default", "outreach")
DRAIN_EVERY_S = 2.0
MAINTENANCE_S = 30
ALIVE_SECONDS = 10  # a worker whose drain loop has not beaten for this long counts as dead in /healthz

log = logging.getLogger(__name__)


class QuietFailures(BaseWorker):
    """For an RQ worker: an expected job failure (a webhook delivery that got no 2xx, which the job has
    already logged as one line) is not logged again with RQ's traceback, which also printed the job's
    arguments. Every other exception is logged by RQ as usual."""

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        from receptionist.integrations.webhooks import DeliveryFailed

        if not isinstance(exc_info[1], DeliveryFailed):
            super().handle_exception(job, *exc_info)
            return
        self.log.debug("job %s: %s", job.id, exc_info[1])
        for handler in self._exc_handlers:
            fallthrough = handler(job, *exc_info)
            if fallthrough is not None and not fallthrough:
                break


class QuietWorker(QuietFailures, Worker):
    """The product's worker: RQ's forking worker with `QuietFailures`."""


def queues(services: Services) -> list[Queue]:
    return [Queue(name, connection=services.queue_redis) for name in QUEUES]


def drain_once(services: Services) -> int | None:
    """One drain of the call journal, then of the status backlog (whose final statuses sum up outcomes from
    the journal's facts, so only after a complete journal drain); failures are logged and retried on the
    next tick (entries stay)."""
    try:
        done = journal.drain(services.queue_redis, services.store)
    except (redis.RedisError, OSError, SQLAlchemyError):
        log.warning("call journal: drain failed; retrying on the next tick", exc_info=True)
        return None
    if done is None:
        return None
    try:
        services.statuses.drain(services.apply_status)
    except (redis.RedisError, OSError, SQLAlchemyError):
        log.warning("status backlog: drain failed; retrying on the next tick", exc_info=True)
    return done


def reconcile_calls_once(services: Services) -> dict[str, int] | None:
    """Ask Twilio about unended inbound calls, unless another worker did within `reconcile.EVERY`. Run after a
    journal drain: a final status sums up the outcome from the journal's facts."""
    try:
        ttl = int(reconcile.EVERY.total_seconds()) - 5
        if not services.queue_redis.set(keys.call_reconcile_marker(), "1", nx=True, ex=ttl):
            return None
    except (redis.RedisError, OSError):
        pass  # no marker without Redis: one more question to Twilio does no harm (statuses apply once)
    try:
        return reconcile.reconcile_calls(
            services.store, services.twilio, lambda p: services.apply_status(p, None), services.now()
        )
    except (redis.RedisError, OSError, SQLAlchemyError):
        log.warning("call reconcile: failed; retrying on a later tick", exc_info=True)
        return None


def daily_recall_once(services: Services) -> bool:
    """Enqueue the day's recall run once the practice's local time has reached `[recall] run_at`; once a
    day, whichever worker comes first (a marker in Redis). True when it enqueued the run."""
    run_at = services.practice.recall.run_at
    if run_at is None:
        return False
    local = services.now().astimezone(ZoneInfo(services.practice.timezone))
    if local.time() < run_at:
        return False
    try:
        day = local.date().isoformat()
        if not services.queue_redis.set(keys.recall_day_marker(day), "1", nx=True, ex=36 * 3600):
            return False
        services.jobs.enqueue(jobqueue.RECALL, queue="default", job_timeout=600)
    except (redis.RedisError, OSError):
        log.warning("recall: could not start the day's run; trying again on a later tick")
        return False
    return True


def beat(services: Services, name: str) -> None:
    """The worker `name` is alive: its drain loop runs (rq's own heartbeat comes only every few minutes)."""
    try:
        services.queue_redis.set(keys.worker_alive(name), "1", ex=ALIVE_SECONDS)
    except (redis.RedisError, OSError):
        log.warning("worker: Redis unavailable; heartbeat skipped")


def _drain_loop(services: Services, stop: threading.Event, name: str) -> None:
    beat(services, name)
    while not stop.wait(DRAIN_EVERY_S):
        beat(services, name)
        if drain_once(services) is not None:
            reconcile_calls_once(services)
        daily_recall_once(services)


def warm(services: Services) -> None:
    """Import and build, once in the worker, what jobs use: every job runs in a fresh fork of this process,
    and without this each one would import the twilio client and build its services again (~200 ms a job)."""
    from receptionist.outreach import campaigns, dispatch  # noqa: F401

    services.limits  # noqa: B018 - cached properties, built here so every work horse inherits them
    services.outreach_queue  # noqa: B018
    services.outcomes  # noqa: B018
    services.twilio.warm()
    try:
        services.outreach.contact("-")  # compiles the attempt queries into the engine's statement cache
    except SQLAlchemyError:
        log.warning("worker: the store is not reachable yet; jobs will retry", exc_info=True)


def run_worker(services: Services, *, burst: bool = False) -> bool:
    jobs.bind(services)
    warm(services)
    stop = threading.Event()
    # maintenance (which also starts the scheduler again when it died, with Redis, say) every 30 s, not 10 min
    worker = QuietWorker(
        queues(services), connection=services.queue_redis, maintenance_interval=MAINTENANCE_S
    )
    drainer = threading.Thread(
        target=_drain_loop, args=(services, stop, worker.name), name="journal-drain", daemon=True
    )
    drainer.start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
        drain_once(services)  # what is left when the worker stops (a burst run ends with the journal drained)
