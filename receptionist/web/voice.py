"""Twilio voice webhooks: thin HTTP edges around `CallFlow`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from receptionist.telephony import twiml
from receptionist.web.extension import services_of
from receptionist.web.twilio_auth import call_params, twilio_signed

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _safely(produce: Callable[[], str], sid: str) -> Response:
    """Whatever fails, the caller hears something sensible and valid TwiML goes back."""
    try:
        return _xml(produce())
    except Exception:
        log.exception("call %s: webhook failed", sid)
        services = services_of(current_app)
        main = services.practice.main
        if main.staff_numbers:
            return _xml(
                twiml.transfer(
                    "I'm sorry, something went wrong. Let me put you through to our team.",
                    main.staff_numbers,
                    whisper=services.settings.base_url + "/voice/whisper?call=",
                    action=services.settings.base_url + "/voice/transfer-result",
                )
            )
        return _xml(
            twiml.say_and_hangup("I'm sorry, something went wrong. Please call again in a few minutes.")
        )


@bp.post("/inbound")
@twilio_signed
def inbound() -> Response:
    p = call_params()
    return _safely(lambda: services_of(current_app).callflow.inbound(p), p.call_sid)


@bp.post("/gather")
@twilio_signed
def gather() -> Response:
    p = call_params()
    rev = request.args.get("rev", type=int)
    return _safely(lambda: services_of(current_app).callflow.gather(p, rev), p.call_sid)


@bp.post("/gather/wait")
@twilio_signed
def gather_wait() -> Response:
    """After the holding line: the slow turn's answer (or the fallback's)."""
    p = call_params()
    token = request.args.get("turn", "")
    rev = request.args.get("rev", type=int)
    return _safely(lambda: services_of(current_app).callflow.gather_wait(p, token, rev), p.call_sid)


@bp.post("/whisper")
@twilio_signed
def whisper() -> Response:
    p = call_params()
    parent = request.args.get("call", "")
    return _safely(lambda: services_of(current_app).callflow.whisper(p, parent), parent)


@bp.post("/whisper/answer")
@twilio_signed
def whisper_answer() -> Response:
    p = call_params()
    parent = request.args.get("call", "")
    return _safely(lambda: services_of(current_app).callflow.whisper_answer(p, parent), parent)


@bp.post("/transfer-result")
@twilio_signed
def transfer_result() -> Response:
    p = call_params()
    return _safely(lambda: services_of(current_app).callflow.transfer_result(p), p.call_sid)


@bp.post("/status")
@twilio_signed
def status() -> tuple[str, int]:
    """Always 2xx (Twilio never retries a status callback): applied now, or kept in the backlog for the worker."""
    services = services_of(current_app)
    p = call_params()
    attempt = request.args.get("attempt") or None
    try:
        if services.callflow.status(p):
            if attempt:  # an outreach call (reactivation or "call now"): its final status settles the attempt
                services.outreach.settle_call(attempt, p)
            return "", 204
    except Exception:
        log.warning("call %s: status callback not applied now; kept in the backlog", p.call, exc_info=True)
    services.statuses.put(g.twilio_params, attempt)
    return "", 202


@bp.post("/outcome")
@twilio_signed
def outcome() -> Response:
    """A call's outcome as `receptionist call --json` prints it; signed like every Twilio-facing request."""
    body = services_of(current_app).callflow.outcome(call_params().call_sid)
    if body is None:
        abort(404)
    return jsonify(body)
