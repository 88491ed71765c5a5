"""Outreach webhooks and links: outbound and "call now" calls, texts' status and replies, email unsubscribe.

Thin HTTP edges: Twilio-facing routes check the signature (403, nothing done) and hand the form to
`outreach.voice.OutboundVoice` or the dispatcher; whatever fails, a call still gets valid TwiML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request

from receptionist.conversation import revocation
from receptionist.outreach import optout
from receptionist.outreach.dispatch import check_unsubscribe_token
from receptionist.phones import normalise_or_none
from receptionist.telephony import twiml
from receptionist.texting.conversation import IncomingText
from receptionist.voice.outbound import OutboundVoice
from receptionist.web.extension import services_of
from receptionist.web.twilio_auth import call_params, message_params, twilio_signed
from receptionist.wording import contacts

bp = Blueprint("outreach", __name__)
log = logging.getLogger(__name__)


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _voice() -> OutboundVoice:
    return services_of(current_app).outbound_voice


def _attempt() -> str:
    return request.args.get("attempt", "")


def _safely(produce: Callable[[], str], what: str) -> Response:
    try:
        return _xml(produce())
    except Exception:  # the person on the line always hears something sensible
        log.exception("outreach %s failed for attempt %s", what, _attempt())
        practice = services_of(current_app).practice
        return _xml(
            twiml.say_and_hangup(
                f"Sorry, this is {practice.name}. We'll try you again another time. Goodbye."
            )
        )


@bp.post("/voice/outbound")
@twilio_signed
def outbound() -> Response:
    p = call_params()
    return _safely(lambda: _voice().answer(p, _attempt()), "answer")


@bp.post("/voice/outbound/amd")
@twilio_signed
def outbound_amd() -> tuple[str, int]:
    _voice().amd(call_params(), _attempt())
    return "", 204


@bp.post("/voice/bridge")
@twilio_signed
def bridge() -> Response:
    p = call_params()
    return _safely(lambda: _voice().bridge(p, _attempt()), "bridge")


@bp.post("/voice/bridge/answer")
@twilio_signed
def bridge_answer() -> Response:
    p = call_params()
    return _safely(lambda: _voice().bridge_answer(p, _attempt()), "bridge answer")


@bp.post("/voice/bridge/result")
@twilio_signed
def bridge_result() -> Response:
    p = call_params()
    return _safely(lambda: _voice().bridge_result(p, _attempt()), "bridge result")


@bp.post("/sms/status")
@twilio_signed
def sms_status() -> tuple[str, int]:
    services = services_of(current_app)
    params = message_params()
    if _attempt():
        services.outreach.settle_message(_attempt(), params)
    else:  # a staff reply from the inbox (sent with no attempt)
        services.texting.threads.settle(params.message_sid, params.status)
    return "", 204


@bp.post("/sms/inbound")
@twilio_signed
def sms_inbound() -> Response:
    """A text to a practice number. A revocation in any reasonable words ("STOP", "please don't text me
    anymore", "ya no me manden mensajes": `revocation.revokes`) opts the sender out of every channel at once
    and gets the one confirmation text, if it has not had it; an answer to an ASAP offer ("yes", "1") hears
    what came of it (`outreach.asap`); HELP gets the help text; anything else is answered by the two-way
    texting conversation (`texting.conversation.Texting.answer`: the same understanding and policies as a
    call, SMS-sized replies, hand-overs to the staff inbox); should it fail, with how to reach the practice
    and how to opt out."""
    services = services_of(current_app)
    text = message_params()
    sender = normalise_or_none(text.from_)
    body = text.body
    name = services.practice.name
    phone = services.practice.main.phone
    now = services.now()
    patients = optout.patients_with_phone(services.store, sender) if sender else []
    if revocation.revokes(body, now):
        optout.opt_out(services.store, patients, how="text", now=now, phone=sender or "")
        if patients:
            services.outcomes.opted_out(patients)
        if sender and optout.confirm_once(services.store, sender, now, services.now()):
            return _xml(twiml.sms_reply(contacts.optout_confirmation(name, phone)))
        return _xml(twiml.sms_reply(None))  # confirmed once already: at most one confirmation text
    if patients:
        services.outcomes.replied(patients)
    asap_reply = services.asap.answer(sender, body)  # "yes" to an ASAP offer: booked, or taken
    if asap_reply is not None:
        return _xml(twiml.sms_reply(asap_reply))
    if body.strip().lower() in ("help", "info"):
        return _xml(twiml.sms_reply(contacts.help_text(name, phone)))
    if sender is None:
        return _xml(twiml.sms_reply(contacts.cannot_read_replies(name, phone)))
    incoming = IncomingText(text.message_sid, sender, normalise_or_none(text.to), body)
    try:
        return _xml(twiml.sms_replies(services.texting.answer(incoming, patients)))
    except Exception:  # the texter always hears how to reach the practice
        log.exception("text %s: the texting conversation failed", text.message_sid)
        return _xml(twiml.sms_reply(contacts.cannot_read_replies(name, phone)))


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>"""


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> tuple[str, int]:
    """The link in every outreach email (and its one-click List-Unsubscribe POST, RFC 8058)."""
    from html import escape

    services = services_of(current_app)
    name = escape(services.practice.name)
    patient_id, expired = check_unsubscribe_token(
        services.store, token, services.now(), services.outreach.legacy_unsubscribe_secret
    )
    if patient_id is None:
        number = escape(contacts.spoken_phone(services.practice.main.phone))
        why = "This unsubscribe link has expired." if expired else "This unsubscribe link is not valid."
        return _PAGE.format(
            title="Link not valid",
            text=f"{why} To stop all calls, texts and emails, call us at {number} or reply STOP to a text.",
            form="",
        ), 404
    if request.method == "POST":
        optout.opt_out(services.store, [patient_id], how="email unsubscribe", now=services.now())
        services.outcomes.opted_out([patient_id])
        return _PAGE.format(title="Unsubscribed", text=f"You won't hear from {name} again.", form=""), 200
    form = '<form method="post"><button type="submit">Unsubscribe</button></form>'
    return _PAGE.format(
        title="Unsubscribe", text=f"Stop all calls, texts and emails from {name}?", form=form
    ), 200
