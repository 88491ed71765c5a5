"""Outcome statistics for the dashboard, as JSON: aggregates per tier, channel and month only, no patient data."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from receptionist.outcomes.log import live_counts, store_counts
from receptionist.outcomes.report import build_report
from receptionist.web.extension import services_of

bp = Blueprint("stats", __name__)
log = logging.getLogger(__name__)


@bp.get("/api/stats")
def stats() -> ResponseReturnValue:
    """The live counters (Redis); the store's own counts when Redis is unreachable. `?month=YYYY-MM` filters."""
    services = services_of(current_app)
    months = request.args.getlist("month") or None
    source = "live"
    try:
        counts = live_counts(services.redis, months)
    except (redis.RedisError, OSError):
        log.warning("stats: Redis unavailable, counting from the store")
        counts, source = store_counts(services.store, months), "store"
    body = build_report(counts, services.practice.outreach, months).as_json()
    body["source"] = source
    from receptionist.integrations.events import trying_to_return

    # patients who started booking online within the cool-down: outreach is holding back for them
    body["trying_to_return"] = trying_to_return(
        services.store, services.now(), services.practice.outreach.cooldown_days
    )
    return jsonify(body)
