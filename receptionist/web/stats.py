"""Outcome statistics for the dashboard, as JSON: aggregates per tier, channel and month only, no patient data;
but revenue, cost and ROI, so only for a signed-in manager or an API key with the `stats` scope."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from receptionist.integrations import apikeys
from receptionist.outcomes.log import live_counts, store_counts
from receptionist.outcomes.report import build_report
from receptionist.web.extension import services_of

if TYPE_CHECKING:
    from receptionist.runtime.services import Services

bp = Blueprint("stats", __name__)
log = logging.getLogger(__name__)


@bp.get("/api/stats")
def stats() -> ResponseReturnValue:
    """The live counters (Redis); the store's own counts when Redis is unreachable. `?month=YYYY-MM` filters."""
    services = services_of(current_app)
    refused = _refused(services)
    if refused is not None:
        return refused
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


def _refused(services: Services) -> ResponseReturnValue | None:
    """None for a manager's session or a live key with the `stats` scope; else 401 or 403 as JSON."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        caller = apikeys.authenticate(services.store, services.sealer, auth[7:].strip())
        if caller is None:
            return _error(401, "bad_key", "the API key is not valid (unknown or revoked)")
        if not caller.may("stats"):
            return _error(403, "missing_scope", "this key does not have the 'stats' scope")
        return None
    if not current_user.is_authenticated:
        return _error(
            401, "sign_in", "sign in to the dashboard as a manager, or send an API key with 'stats'"
        )
    if not getattr(current_user, "is_manager", False):
        return _error(403, "managers_only", "statistics with revenue and cost are for managers")
    return None


def _error(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message}}), status
