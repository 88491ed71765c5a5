"""The jobs port: domain code enqueues background jobs by their dotted names; the worker resolves them.

RQ stores a job's function as a dotted path and imports it in the worker, so naming the entry points by
string keeps domain code from importing `receptionist.jobs`, which builds the services (the composition
root) and would otherwise close an import cycle through every module that enqueues. The names live here
once; a test checks that each resolves to a function of `receptionist.jobs`, the name queued and scheduled
jobs carry (some of them days ahead), so it never moves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from rq import Queue
from rq.job import Job

SCORE = "receptionist.jobs.score_job"
SEND_ATTEMPT = "receptionist.jobs.send_attempt_job"
RECONCILE = "receptionist.jobs.reconcile_job"
ADVANCE_SEQUENCES = "receptionist.jobs.advance_sequences_job"
DELIVER_WEBHOOK = "receptionist.jobs.deliver_webhook_job"
RECALL = "receptionist.jobs.recall_job"
ASAP_OPENED = "receptionist.jobs.asap_opened_job"
ASAP_BATCH = "receptionist.jobs.asap_batch_job"
ASAP_EXPIRE = "receptionist.jobs.asap_expire_job"

QUEUES = ("high", "default", "outreach")  # the worker listens in this order


class Jobs:
    """Enqueue by name on the product's queues (one Redis connection, patient timeouts)."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self._queues: dict[str, Queue] = {}

    def queue(self, name: str = "default") -> Queue:
        if name not in QUEUES:
            raise ValueError(f"unknown queue {name!r}")
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.connection)
        return self._queues[name]

    def enqueue(self, job: str, *args: Any, queue: str = "default", **options: Any) -> Job:
        return self.queue(queue).enqueue(job, *args, **options)

    def enqueue_in(
        self, delay: dt.timedelta, job: str, *args: Any, queue: str = "default", **options: Any
    ) -> Job:
        return self.queue(queue).enqueue_in(delay, job, *args, **options)

    def enqueue_at(
        self, when: dt.datetime, job: str, *args: Any, queue: str = "default", **options: Any
    ) -> Job:
        enqueued: Job = self.queue(queue).enqueue_at(when, job, *args, **options)
        return enqueued

    def enqueue_many(
        self, job: str, calls: Iterable[Sequence[Any]], *, queue: str = "default", **options: Any
    ) -> list[Job]:
        """One job per argument tuple, in one round trip (`options` as `Queue.prepare_data` spells them)."""
        prepared = [Queue.prepare_data(job, tuple(args), **options) for args in calls]
        return list(self.queue(queue).enqueue_many(prepared)) if prepared else []

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
        """Schedule `job` in `delay` unless one is already due: a marker key set NX for `marker_ttl` seconds lets
        a burst of callers share one job. False when one was already scheduled."""
        if not self.connection.set(marker, "1", nx=True, ex=max(1, marker_ttl)):
            return False
        self.enqueue_in(delay, job, *args, queue=queue, **options)
        return True
