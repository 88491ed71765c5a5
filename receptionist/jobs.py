"""Background jobs (RQ). Jobs take ids and plain values, stay short and declare their retries."""

from __future__ import annotations

import datetime as dt

from .services import Services, build_services
from .settings import load_settings

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
    from .scorer import run_scoring

    s = services()
    day = dt.date.fromisoformat(as_of) if as_of else None
    return run_scoring(s.store, s.publish_cache, s.practice, day).as_json()
