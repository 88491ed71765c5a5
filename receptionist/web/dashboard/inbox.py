"""Inbox: the text threads the AI handed over and what calls left for the team (messages, failed transfers,
callbacks: the same groups as Today's, closed from either page), and one thread with its messages, its owner, its state and the
staff reply (signed-in staff; every view is audited). Replies go through `texting.replies.StaffReplies`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from receptionist.dashboard import inbox, queries
from receptionist.web.dashboard import live
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


def _int(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


def _listed() -> tuple[dict[str, Any], str]:
    services = services_of(current_app)
    state = request.args.get("state", "open")
    state = state if state in inbox.FILTERS else "open"
    page = inbox.threads(services.store, state, _int("page", 1))
    # what calls left for the team (messages, failed transfers, urgent and other callbacks), merged per patient
    callbacks = queries.open_callbacks(services.store, page=request.args.get("cb_page", 1, type=int))
    context = {
        "page": page,
        "state": state,
        "filters": inbox.FILTERS,
        "labels": inbox.STATE_LABELS,
        "zone": services.practice.main.zone,
        "callbacks": callbacks,
        "now": services.now(),
        "zones": {location.id: location.zone for location in services.practice.locations},
    }
    return context, f"{len(page.items)} threads listed, page {page.page}; {callbacks.total} callbacks"


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    context, detail = _listed()
    audited("inbox.list", detail=detail)
    html, tag = live.render_part("dashboard/_inbox_live.html", **context)
    return render_template(
        "dashboard/inbox.html", live_html=html, live_tag=tag, live_every=live.EVERY_S, **context
    )


@bp.get("/live")
@login_required
def live_part() -> ResponseReturnValue:
    """The threads again, for the page's live refresh (304 when nothing changed)."""
    context, detail = _listed()
    return live.part_response(
        "dashboard/_inbox_live.html", lambda: audited("inbox.refresh", detail=detail), **context
    )


@bp.get("/<int:thread_id>")
@login_required
def detail(thread_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    t = inbox.thread(services.store, thread_id, _int("page", 0))
    if t is None:
        abort(404)
    audited("inbox.view", patient_id=t["patient_id"], target=str(thread_id), detail="text thread")
    return render_template("dashboard/inbox_thread.html", t=t, zone=services.practice.main.zone)


@bp.post("/<int:thread_id>/reply")
@login_required
def reply(thread_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    body = request.form.get("body", "")[:1000]
    sent = services.staff_texts.send(thread_id, current_user.username, body)
    flash(sent.why, "info" if sent.ok else "error")
    return redirect(url_for("inbox.detail", thread_id=thread_id))


@bp.post("/<int:thread_id>/state")
@login_required
def state(thread_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    wanted = request.form.get("state", "")
    take = request.form.get("take") == "1"
    if not inbox.set_state(services.store, thread_id, wanted, owner=current_user.username, take=take):
        flash("That state is not one of new, in progress or done.", "error")
    else:
        flash("Taken." if take else f"Marked {inbox.STATE_LABELS[wanted].lower()}.", "info")
    return redirect(url_for("inbox.detail", thread_id=thread_id))
