"""Calls: live and recent calls, and one call's transcript (signed-in staff only)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from receptionist.dashboard import queries
from receptionist.voice import journal
from receptionist.web.dashboard import live
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of
from receptionist.wording import contacts

bp = Blueprint("calls", __name__, url_prefix="/calls")
log = logging.getLogger(__name__)


def _drain() -> None:
    """Call records reach SQL from the Redis journal every few seconds; read our own writes now."""
    services = services_of(current_app)
    try:
        journal.drain(services.queue_redis, services.store)
    except (redis.RedisError, OSError):
        log.warning("calls page: the call journal could not be drained (Redis unavailable)")


def _listed() -> tuple[dict[str, Any], str]:
    services = services_of(current_app)
    _drain()
    calls = queries.recent_calls(services.store)
    return {"calls": calls, "zone": services.practice.main.zone}, (
        f"{len(calls['live']) + len(calls['recent'])} calls listed"
    )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    context, detail = _listed()
    audited("calls.list", detail=detail)
    html, tag = live.render_part("dashboard/_calls_live.html", **context)
    return render_template("dashboard/calls.html", live_html=html, live_tag=tag, live_every=live.EVERY_S)


@bp.get("/live")
@login_required
def live_part() -> ResponseReturnValue:
    """Live and recent calls again, for the page's live refresh (304 when nothing changed)."""
    context, detail = _listed()
    return live.part_response(
        "dashboard/_calls_live.html", lambda: audited("calls.refresh", detail=detail), **context
    )


@bp.get("/<sid>")
@login_required
def detail(sid: str) -> ResponseReturnValue:
    services = services_of(current_app)
    _drain()
    d = queries.call_detail(services.store, sid)
    if d is None:
        abort(404)
    audited("call.view", patient_id=d["patient_id"], target=sid, detail="transcript")
    main = services.practice.main
    left = contacts.voicemail_text(services.practice.name, main.phone) if d["voicemail"] else None
    return render_template("dashboard/call.html", d=d, voicemail=left, zone=main.zone)
