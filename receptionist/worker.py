"""The job worker: an RQ worker with its scheduler (for delayed and retried jobs) on the configured Redis."""

from __future__ import annotations

from rq import Queue, Worker

from . import jobs
from .services import Services

QUEUES = ("high", "default", "outreach")


def queues(services: Services) -> list[Queue]:
    return [Queue(name, connection=services.queue_redis) for name in QUEUES]


def run_worker(services: Services, *, burst: bool = False) -> bool:
    jobs.bind(services)
    worker = Worker(queues(services), connection=services.queue_redis)
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
