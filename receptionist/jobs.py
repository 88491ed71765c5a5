"""Background jobs (RQ). Jobs take ids and plain values, stay short and declare their retries."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from redis import exceptions as redis_errors

from receptionist.config.settings import load_settings
from receptionist.outreach.dispatch import schedule_reconcile
from receptionist.runtime.services import Services, build_services

_services: Services | None = None
log = logging.getLogger(__name__)


def bind(services: Services) -> None:
    """The worker hands its services in once; jobs use them."""
    global _services
    _services = services


def services() -> Services:
    global _services
    if _services is None:
        _services = build_services(load_settings())
    return _services


def score_job(as_of: str | None = None) -> dict[str, Any]:
    """Re-score the practice (after an import or an integration update) and publish the cache."""
    from receptionist.patients.scorer import run_scoring

    s = services()
    day = dt.date.fromisoformat(as_of) if as_of else s.practice.today(s.now())
    return run_scoring(s.store, s.publish_cache, s.practice, day).as_json()


def send_attempt_job(attempt_id: str) -> str:
    """One reactivation contact attempt (idempotent: the attempt row says whether it already went out)."""
    return services().outreach.send(attempt_id)


def reconcile_job() -> dict[str, Any]:
    """Settle attempts whose worker died mid-send, then look again in a minute while any are in flight."""
    s = services()
    counts = s.outreach.reconcile()
    if s.outreach.in_flight():
        schedule_reconcile(s.jobs)
    return counts


def recall_job() -> dict[str, Any]:
    """Start the day's recall reminders (the worker enqueues it once a practice day at `[recall] run_at`).
    Safe to run twice: a run makes, per patient, only a step not made yet (`outreach/recall.py`)."""
    from receptionist.outreach.recall import RECALL_KIND, build_recall_plan

    s = services()
    now = s.now()
    made = build_recall_plan(s.store, s.practice, now)
    if not made.due:
        return {"campaign_id": None, "reminders": 0}
    started = s.campaigns.start(made.plan, now, kind=RECALL_KIND)
    return {"campaign_id": started.campaign_id, "reminders": started.attempts}


def asap_opened_job(appointment_id: int, why: str = "cancelled") -> str | None:
    """A cancelled or moved appointment's time, offered to the ASAP list (the offer's id, or None)."""
    return services().asap.opened(appointment_id, why)


def asap_batch_job(offer_id: str) -> str:
    """The next batch of an ASAP offer's texts (and the one after, a few minutes later)."""
    return services().asap.send_batch(offer_id)


def asap_expire_job(offer_id: str) -> str:
    """An ASAP offer's time is up: closed, its waiting texts dropped."""
    return services().asap.expire(offer_id)


def advance_sequences_job() -> dict[str, Any]:
    """Write and enqueue the sequence steps that are due, then look again later while any is in progress."""
    from receptionist.outreach.sequencer import schedule_advance

    s = services()
    counts = s.sequences.advance()
    if counts["in_progress"]:
        schedule_advance(s.jobs)
    return counts


def deliver_webhook_job(key_id: str, body: dict[str, Any]) -> str:
    """One outcome to one integration's webhook (retried with back-off by RQ when it fails). A failure is one
    log line (which try, when the next) and an entry the dashboard lists, never a traceback."""
    from rq import get_current_job

    from receptionist.integrations.webhooks import BACKOFF, DeliveryFailed, deliver, record_failure

    s = services()
    try:
        return deliver(s.store, s.sealer, key_id, body, s.now())
    except DeliveryFailed as exc:
        job = get_current_job()
        left = (job.retries_left or 0) if job is not None else 0
        retry_in = BACKOFF[len(BACKOFF) - left] if 0 < left <= len(BACKOFF) else None
        attempt = len(BACKOFF) - left + 1
        if retry_in is None:
            log.warning("%s: try %d failed, the last one; given up", exc, attempt)
        else:
            log.warning("%s: try %d failed; retrying in %d s", exc, attempt, retry_in)
        try:
            record_failure(
                s.queue_redis, key_id, str(body.get("id", "")), str(exc), s.now(), retry_in=retry_in
            )
        except (redis_errors.RedisError, OSError):
            log.warning("webhook %s: the failure could not be kept for the dashboard", key_id)
        raise
