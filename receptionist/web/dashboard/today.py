"""Today: the staff call list (with "call now" and the outcome form), the callbacks queue, and the patients
who tried to book through the practice's own systems (outreach holds back for them), and the ASAP list (who
asked for an earlier time, and the opened times being offered by text)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from receptionist.dashboard import formatting, queries
from receptionist.outreach.campaigns import STAFF_OUTCOMES, CampaignError
from receptionist.phones import InvalidPhone, to_e164
from receptionist.web.dashboard import live
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of

bp = Blueprint("today", __name__)
log = logging.getLogger(__name__)
MAX_CLOSED = 5000  # one group's requests at most (every urgent one is listed, so a flood can be large)


def _part() -> tuple[dict[str, Any], str]:
    """What Today's live part shows, and its audit line."""
    services = services_of(current_app)
    now = services.now()
    campaign = queries.latest_campaign(services.store)
    call_list = queries.call_list(services.store, campaign.id) if campaign else []
    callbacks = queries.open_callbacks(services.store, page=request.args.get("cb_page", 1, type=int))
    returning = queries.trying_to_return(services.store, now, services.practice.outreach.cooldown_days)
    asap = services.asap.overview()
    context = {
        "now": now,
        "campaign": campaign,
        "call_list": call_list,
        "callbacks": callbacks,
        "returning": returning,
        "asap": asap,
        "instant": dt.datetime.fromisoformat,
        "outcomes": STAFF_OUTCOMES,
        "staff_numbers": services.practice.main.staff_numbers,
        "zone": services.practice.main.zone,
        "zones": {location.id: location.zone for location in services.practice.locations},
    }
    detail = (
        f"{len(call_list)} to call, {callbacks.total} callbacks, {len(returning)} trying to return, "
        f"{len(asap['requests'])} on the ASAP list"
    )
    return context, detail


def page(status: int = 200) -> ResponseReturnValue:
    context, detail = _part()
    audited("today.view", detail=detail)
    html, tag = live.render_part("dashboard/_today_live.html", **context)
    return render_template(
        "dashboard/today.html", live_html=html, live_tag=tag, live_every=live.EVERY_S
    ), status


@bp.get("/today/live")
@login_required
def live_part() -> ResponseReturnValue:
    """Today's lists again, for the page's live refresh (304 when nothing changed)."""
    context, detail = _part()
    return live.part_response(
        "dashboard/_today_live.html", lambda: audited("today.refresh", detail=detail), **context
    )


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return page()


@bp.post("/today/call-now")
@login_required
def call_now() -> ResponseReturnValue:
    services = services_of(current_app)
    attempt = request.form.get("attempt_id", "")
    try:
        number = to_e164(request.form.get("staff_number", ""))
        services.campaigns.call_now(attempt, number)
    except InvalidPhone as exc:
        flash(
            f"Your phone number: {exc}. Enter the number we should ring first, e.g. (202) 555-0111.", "error"
        )
        return page(400)
    except CampaignError as exc:
        flash(f"Not calling now: {exc}.", "error")
        return page(400)
    log.info("call now placed for attempt %s", attempt)
    flash("Calling your phone now: answer and press 1 to be connected to the patient.", "ok")
    return redirect(url_for("today.index"))


@bp.post("/today/outcome")
@login_required
def outcome() -> ResponseReturnValue:
    services = services_of(current_app)
    attempt = request.form.get("attempt_id", "")
    what = request.form.get("outcome", "")
    if what not in STAFF_OUTCOMES:
        flash(
            "Choose what happened on the call: reached, booked, call back, not interested or wrong number.",
            "error",
        )
        return page(400)
    try:
        services.campaigns.record_outcome(attempt, what)
    except CampaignError as exc:
        flash(f"Not recorded: {exc}", "error")
        return page(400)
    flash(f"Recorded: {formatting.outcome(what)}.", "ok")
    return redirect(url_for("today.index"))


@bp.post("/today/callbacks/<int:callback_id>/done")
@login_required
def callback_done(callback_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    if not queries.close_callback(services.store, callback_id, services.now()):
        flash("That callback is already done or no longer exists.", "error")
        return page(404)
    flash("Callback marked done.", "ok")
    return redirect(url_for("today.index"))


@bp.post("/today/callbacks/take")
@login_required
def callbacks_take() -> ResponseReturnValue:
    """A group's "Take it": its requests are in progress, the signed-in staff member's."""
    services = services_of(current_app)
    raw = request.form.getlist("id")
    back = "inbox.index" if request.form.get("back") == "inbox" else "today.index"
    if not raw or not all(value.isdigit() for value in raw) or len(raw) > MAX_CLOSED:
        flash("Nothing taken: choose Take it beside a patient's requests.", "error")
        return redirect(url_for(back))
    taken = queries.take_callbacks(services.store, [int(v) for v in raw], current_user.username)
    if not taken:
        flash("Those requests are already done or no longer exist.", "error")
    else:
        audited("today.callbacks_take", detail=f"{taken} callback requests taken")
        flash(f"Taken: {formatting.requests(taken)}, in progress with you.", "ok")
    return redirect(url_for(back))


@bp.post("/today/callbacks/done")
@login_required
def callbacks_done() -> ResponseReturnValue:
    """A group's Done: closes every request the page listed for that patient (the form's `id` fields)."""
    services = services_of(current_app)
    raw = request.form.getlist("id")
    if not raw or not all(value.isdigit() for value in raw) or len(raw) > MAX_CLOSED:
        flash("Nothing marked done: choose Done beside a patient's requests.", "error")
        return page(400)
    closed = queries.close_callbacks(services.store, [int(value) for value in raw], services.now())
    if not closed:
        flash("Those requests are already done or no longer exist.", "error")
        return page(404)
    audited("today.callbacks_done", detail=f"{closed} callback requests closed")
    flash(f"Marked done: {formatting.requests(closed)}.", "ok")
    return redirect(url_for("inbox.index" if request.form.get("back") == "inbox" else "today.index"))
