"""Background jobs (RQ). Jobs take ids and plain values, stay short and declare their retries."""

from __future__ import annotations

import datetime as dt

from receptionist.config.settings import load_settings
from receptionist.runtime.services import Services, build_services

_services: Services | None = None


def bind(services: Services) -> None:
    """The worker hands its services in once; jobs use them."""
    global _services
    _services = services


def services() -> Services:
    global _services
    if _services is None:
        _services = build_services(load_settings())
    return _services


def score_job(as_of: str | None = None) -> dict:
    """Re-score the practice (after an import or an integration update) and publish the cache."""
    from receptionist.patients.scorer import run_scoring

    s = services()
    day = dt.date.fromisoformat(as_of) if as_of else s.practice.today(s.now())
    return run_scoring(s.store, s.publish_cache, s.practice, day).as_json()


def send_attempt_job(attempt_id: str) -> str:
    """One reactivation contact attempt (idempotent: the attempt row says whether it already went out)."""
    return services().outreach.send(attempt_id)


def reconcile_job() -> dict:
    """Settle attempts whose worker died mid-send, then look again in a minute while any are in flight."""
    s = services()
    counts = s.outreach.reconcile()
    from receptionist.store import OutreachAttempt

    with s.store.sessions() as session:
        from sqlalchemy import select

        busy = session.scalar(
            select(OutreachAttempt.id)
            .where(OutreachAttempt.status.in_(("queued", "deferred", "sending")))
            .limit(1)
        )
    if busy is not None:
        schedule_reconcile(s)
    return counts


def schedule_reconcile(s: Services, seconds: int = 60) -> None:
    """One reconcile job in the schedule at a time (a short-lived marker stops a second one being added)."""
    from receptionist.store import keys

    if s.queue_redis.set(keys.outreach_reconcile_marker(), "1", nx=True, ex=max(1, seconds - 10)):
        s.outreach_queue.enqueue_in(dt.timedelta(seconds=seconds), reconcile_job)


def deliver_webhook_job(key_id: str, body: dict) -> str:
    """One outcome to one integration's webhook (retried with back-off by RQ when it fails)."""
    from receptionist.integrations.webhooks import deliver

    s = services()
    return deliver(s.store, key_id, body, s.now())
