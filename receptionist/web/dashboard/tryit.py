"""Try it: a call to the receptionist from the browser, on the same simulator as `receptionist call`.

The simulator plays Twilio against this app in process (signed webhooks, the real call flow and store), one
caller turn per request: the call pauses at each prompt, is kept in Redis (as plain JSON, an hour at most, for
the staff member who placed it), and resumes with what the caller types next.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from receptionist.dashboard import queries
from receptionist.simulation.simulator import (
    CallSimulator,
    FlaskTransport,
    PausedCall,
    SimulatedCall,
    SimulatorError,
)
from receptionist.store import keys
from receptionist.web.extension import services_of

bp = Blueprint("tryit", __name__, url_prefix="/try")
log = logging.getLogger(__name__)
KEEP_SECONDS = 3600
UNKNOWN_CALLER = "+13125550123"
MAX_SAY = 500


def _callers() -> dict[str, tuple[str, str | None]]:
    found = queries.tryit_callers(services_of(current_app).store)
    return {
        "high": ("A high-value patient", found["high"]),
        "low": ("A routine patient", found["low"]),
        "unknown": ("Someone new, an unknown number", UNKNOWN_CALLER),
    }


def _simulator() -> CallSimulator:
    services = services_of(current_app)
    settings = services.settings
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return CallSimulator(
        FlaskTransport(app, base_url=settings.base_url),
        base_url=settings.base_url,
        auth_token=settings.auth_token,
        account_sid=settings.account_sid,
        clock=services.now,
    )


def _error(message: str, status: int = 400) -> ResponseReturnValue:
    return jsonify({"error": message}), status


def _body(call: SimulatedCall, paused: PausedCall | None) -> dict[str, Any]:
    outcome = call.outcome or {}
    ended = paused is None
    return {
        "call_sid": call.call_sid,
        "ended": ended,
        "turns": call.turns,
        "route": outcome.get("route"),
        "transfer": outcome.get("transfer"),
        "appointment": outcome.get("appointment"),
        "opted_out": outcome.get("opted_out", False),
        "callback_queued": outcome.get("callback_queued", False),
        "events": [line for line in call.transcript if line.startswith("[")],
        "keypad": paused is not None and "speech" not in paused.inputs,
    }


def _keep(paused: PausedCall | None, call_sid: str) -> None:
    r = services_of(current_app).queue_redis
    if paused is None:
        r.delete(keys.tryit_call(call_sid))
    else:
        r.set(
            keys.tryit_call(call_sid),
            json.dumps({"owner": current_user.get_id(), "call": paused.as_json()}),
            ex=KEEP_SECONDS,
        )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_template("dashboard/tryit.html", callers=_callers())


@bp.post("/start")
@login_required
def start() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    callers = _callers()
    who = body.get("caller")
    if who not in callers:
        return _error("Choose who is calling.")
    number = callers[who][1]
    if not number:
        return _error("No scored patient of that kind yet: run `receptionist score`, or call as someone new.")
    services = services_of(current_app)
    try:
        call, paused = _simulator().start(from_=number, to=services.practice.main.phone)
        _keep(paused, call.call_sid)
    except (SimulatorError, redis.RedisError, OSError) as exc:
        log.warning("try it: the call could not start (%s)", type(exc).__name__)
        return _error(f"The call could not be placed ({type(exc).__name__}).", 503)
    return jsonify(_body(call, paused))


def _paused(call_sid: str) -> PausedCall | None:
    raw = services_of(current_app).queue_redis.get(keys.tryit_call(call_sid))
    if raw is None:
        return None
    kept = json.loads(raw)
    if kept.get("owner") != current_user.get_id():
        return None
    return PausedCall.from_json(kept["call"])


@bp.post("/say")
@login_required
def say() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    text = " ".join(str(body.get("text") or "").split())
    if not text:
        return _error("Type what the caller says.")
    if len(text) > MAX_SAY:
        return _error(f"That is too long for one turn (at most {MAX_SAY} characters).")
    return _step(str(body.get("call_sid") or ""), text)


@bp.post("/hangup")
@login_required
def hangup() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    return _step(str(body.get("call_sid") or ""), None)


def _step(call_sid: str, text: str | None) -> ResponseReturnValue:
    try:
        paused = _paused(call_sid) if call_sid else None
    except (redis.RedisError, OSError):
        return _error("The call's state could not be read (Redis unavailable).", 503)
    if paused is None:
        return _error("That call has ended or expired: start a new one.", 404)
    try:
        call, still = _simulator().resume(paused, text)
    except SimulatorError as exc:
        return _error(str(exc))
    _keep(still, call_sid)
    return jsonify(_body(call, still))
