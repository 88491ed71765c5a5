"""Background jobs (RQ). Jobs take ids and plain values, stay short and declare their retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from receptionist.config.settings import load_settings
from receptionist.outreach.dispatch import schedule_reconcile
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


def deliver_webhook_job(key_id: str, body: dict[str, Any]) -> str:
    """One outcome to one integration's webhook (retried with back-off by RQ when it fails)."""
    from receptionist.integrations.webhooks import deliver

    s = services()
    return deliver(s.store, s.sealer, key_id, body, s.now())
