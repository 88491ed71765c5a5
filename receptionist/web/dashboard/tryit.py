"""Try it: a call to the receptionist from the browser, on the same simulator as `receptionist call`.

The simulator plays Twilio, one caller turn per request, against a sandbox copy of this app: the same code,
practice settings and conversation engine, but its own store, Redis database and two made-up patients
(`simulation.sandbox`), so whatever the caller asks for (opt out, cancel, book) touches no real patient, slot
or statistic. The call pauses at each prompt, is kept in the sandbox's Redis (as plain JSON, an hour at most,
for the staff member who placed it), and resumes with what the caller types next.

"When" places the call at another time of the location's day (a weekday morning, after hours, a Saturday),
so a warm transfer, the after-hours flow or the weekend can be tried at any hour: the call keeps that time,
running on at real speed, for each of its turns (`receptionist call --at` does the same from the command line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from receptionist.runtime.sandbox import build_sandbox
from receptionist.runtime.services import Services
from receptionist.simulation import sandbox
from receptionist.simulation.simulator import (
    CallSimulator,
    FlaskTransport,
    PausedCall,
    SimulatedCall,
    SimulatorError,
)
from receptionist.store import keys
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of

bp = Blueprint("tryit", __name__, url_prefix="/try")
log = logging.getLogger(__name__)
KEEP_SECONDS = 3600
MAX_SAY = 500
SANDBOX = "tryit_sandbox"
_building = threading.Lock()
_clock = threading.Lock()  # the sandbox's clock is set for one call's turn at a time
# "When" (the page's choice): a local time of the location's day, or the real time
WHEN = {
    "now": "Now",
    "morning": "A weekday morning (10:00)",
    "evening": "A weekday evening, after hours (7:30 PM)",
    "weekend": "A Saturday (11:00 AM)",
}


def moment(when: str, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The local time a call placed "when" starts at (the next such time from `now`), None for now."""
    local = now.astimezone(zone)
    if when == "morning" or when == "evening":
        hour, minute = (10, 0) if when == "morning" else (19, 30)
        day = local.date()
        while day.weekday() >= 5 or dt.datetime.combine(day, dt.time(hour, minute), zone) < local:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(hour, minute), zone)
    if when == "weekend":
        saturday = dt.datetime.combine(
            local.date() + dt.timedelta(days=(5 - local.weekday()) % 7), dt.time(11, 0), zone
        )
        return saturday if saturday >= local else saturday + dt.timedelta(days=7)
    return None


@contextlib.contextmanager
def _at(services: Services, kept: dict[str, Any]) -> Iterator[None]:
    """The sandbox's clock at the call's own time for this turn: `at` plus the real time since it began."""
    if not kept.get("at"):
        yield
        return
    with _clock:
        real = services.now
        began, since = dt.datetime.fromisoformat(kept["at"]), dt.datetime.fromisoformat(kept["since"])
        services.now = lambda: began + (real() - since)
        try:
            yield
        finally:
            services.now = real


def _callers() -> dict[str, tuple[str, str | None]]:
    numbers = sandbox.callers()
    return {
        "high": ("A high-value patient (Margot, made up)", numbers["high"]),
        "low": ("A routine patient (Leo, made up)", numbers["low"]),
        "unknown": ("Someone new, an unknown number", numbers["unknown"]),
    }


def _sandbox() -> tuple[Services, Flask]:
    """The sandbox's services and app, built once per app (`create_app` hands its factory in)."""
    with _building:
        built = current_app.extensions.get(SANDBOX)
        if built is None:
            services = build_sandbox(services_of(current_app))
            app = current_app.extensions["app_factory"](services=services)
            built = current_app.extensions[SANDBOX] = (services, app)
    return built


def _simulator() -> CallSimulator:
    services, app = _sandbox()
    settings = services.settings
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


def _keep(paused: PausedCall | None, call_sid: str, when: dict[str, Any]) -> None:
    r = _sandbox()[0].queue_redis
    if paused is None:
        r.delete(keys.tryit_call(call_sid))
    else:
        r.set(
            keys.tryit_call(call_sid),
            json.dumps({"owner": current_user.get_id(), "call": paused.as_json(), **when}),
            ex=KEEP_SECONDS,
        )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_template("dashboard/tryit.html", callers=_callers(), when=WHEN)


@bp.post("/start")
@login_required
def start() -> ResponseReturnValue:
    body = request.get_json(silent=True) or {}
    callers = _callers()
    who = body.get("caller")
    if who not in callers:
        return _error("Choose who is calling.")
    number = callers[who][1]
    choice = str(body.get("when") or "now")
    if choice not in WHEN:
        return _error("Choose when the call is placed.")
    try:
        services = _sandbox()[0]
        real = services.now()
        at = moment(choice, real, services.practice.main.zone)
        when = {"at": at.isoformat(), "since": real.isoformat()} if at else {}
        with _at(services, when):
            now = services.now()
            sandbox.seed(
                services.store, services.publish_cache, services.practice, services.practice.today(now), now
            )
            call, paused = _simulator().start(from_=number or "", to=services.practice.main.phone)
        _keep(paused, call.call_sid, when)
    except (SimulatorError, redis.RedisError, OSError, SQLAlchemyError) as exc:
        log.warning("try it: the call could not start (%s)", type(exc).__name__)
        return _error(f"The call could not be placed ({type(exc).__name__}).", 503)
    return jsonify(_body(call, paused))


def _paused(call_sid: str) -> tuple[PausedCall, dict[str, Any]] | None:
    """The kept call of this staff member, and the time it was placed at (`_at`)."""
    raw = _sandbox()[0].queue_redis.get(keys.tryit_call(call_sid))
    if raw is None:
        return None
    kept = json.loads(raw)
    if kept.get("owner") != current_user.get_id():
        return None
    return PausedCall.from_json(kept["call"]), {k: kept[k] for k in ("at", "since") if kept.get(k)}


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
        found = _paused(call_sid) if call_sid else None
    except (redis.RedisError, OSError):
        return _error("The call's state could not be read (Redis unavailable).", 503)
    if found is None:
        return _error("That call has ended or expired: start a new one.", 404)
    paused, when = found
    try:
        with _at(_sandbox()[0], when):
            call, still = _simulator().resume(paused, text)
    except SimulatorError as exc:
        return _error(str(exc))
    _keep(still, call_sid, when)
    return jsonify(_body(call, still))
