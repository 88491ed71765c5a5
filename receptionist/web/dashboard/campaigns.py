"""Campaigns (managers only): the current plan (tier x channel, expected cost and value), start, pause, resume,
progress."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from receptionist.dashboard import queries
from receptionist.outreach.campaigns import CampaignError
from receptionist.outreach.planner import CHANNELS, Plan, build_plan
from receptionist.patients.export import NoScoreRun
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required, manager_required
from receptionist.web.extension import services_of

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
log = logging.getLogger(__name__)
SHOWN_PATIENTS = 100  # the sequences table's rows (`campaign status --json` has them all)


def _plan() -> Plan | None:
    services = services_of(current_app)
    try:
        return build_plan(
            services.store, services.practice, services.now(), email_on=services.mailer is not None
        )
    except NoScoreRun:
        return None


def page(status: int = 200) -> ResponseReturnValue:
    services = services_of(current_app)
    campaign = queries.latest_campaign(services.store)
    progress = services.campaigns.status(campaign.id) if campaign else None
    recall = queries.latest_campaign(services.store, kind="recall")
    # each patient's step, the next one and when it is due (patient ids: an audited view)
    sequences = services.sequences.progress(campaign.id) if campaign else None
    if campaign and sequences and sequences["patients"]:
        audited("campaigns.sequences", target=campaign.id, detail=f"{len(sequences['patients'])} patients")
    return render_template(
        "dashboard/campaigns.html",
        plan=_plan(),
        channels=CHANNELS,
        campaign=campaign,
        progress=progress,
        recall=recall,
        recall_progress=services.campaigns.status(recall.id) if recall else None,
        sequences=sequences,
        shown_patients=SHOWN_PATIENTS,
        zone=services.practice.main.zone,
    ), status


@bp.get("")
@login_required
@manager_required
def index() -> ResponseReturnValue:
    return page()


@bp.post("/start")
@login_required
@manager_required
def start() -> ResponseReturnValue:
    services = services_of(current_app)
    plan = _plan()
    if plan is None:
        flash("Nothing is scored yet: run `receptionist score` first.", "error")
        return page(400)
    try:
        started = services.campaigns.start(plan, services.now())
    except CampaignError as exc:
        flash(f"Not started: {exc}", "error")
        return page(400)
    log.info("campaign %s started from the dashboard", started.campaign_id)
    flash(
        f"Campaign {started.campaign_id} started: {started.enqueued} AI calls, texts and emails queued, "
        f"{started.staff_calls} on the staff call list, {started.holdout} held out to measure lift.",
        "ok",
    )
    return redirect(url_for("campaigns.index"))


def _change(action: str) -> ResponseReturnValue:
    services = services_of(current_app)
    cid = request.form.get("campaign_id", "").strip()
    if not cid:
        flash("Which campaign? The form named none.", "error")
        return page(400)
    try:
        if action == "pause":
            services.campaigns.pause(cid)
            flash(f"Campaign {cid} paused: nothing more goes out until it is resumed.", "ok")
        else:
            _, n = services.campaigns.resume(cid)
            flash(f"Campaign {cid} resumed ({n} waiting contacts queued again).", "ok")
    except CampaignError as exc:
        flash(f"Not changed: {exc}", "error")
        return page(400)
    return redirect(url_for("campaigns.index"))


@bp.post("/pause")
@login_required
@manager_required
def pause() -> ResponseReturnValue:
    return _change("pause")


@bp.post("/resume")
@login_required
@manager_required
def resume() -> ResponseReturnValue:
    return _change("resume")
