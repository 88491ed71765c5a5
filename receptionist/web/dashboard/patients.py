"""Patients: search by name or phone; a patient's value, tier, P(alive), appointments, visits, contacts, outcomes,
consent."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from receptionist.dashboard import formatting, inbox, queries, schedule
from receptionist.outreach.optout import opt_out
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of

bp = Blueprint("patients", __name__, url_prefix="/patients")
log = logging.getLogger(__name__)
# a search is a few words of a name, a phone number or an id: longer text is refused before any query
MAX_SEARCH_CHARS = 100
MAX_SEARCH_WORDS = 6
CONSENTS = {
    "voice": "calls (including the AI receptionist's voice)",
    "sms": "text messages",
    "written": "written consent for marketing calls and texts",
}


@bp.route("", methods=["GET", "POST"])
@login_required
def search() -> ResponseReturnValue:
    services = services_of(current_app)
    text = request.form.get("q", "") if request.method == "POST" else ""
    results = None
    status = 200
    if request.method == "POST":
        if not text.strip():
            flash("Type a name, a phone number or a patient id to search.", "error")
            status = 400
        elif len(text) > MAX_SEARCH_CHARS or len(text.split()) > MAX_SEARCH_WORDS:
            flash(
                f"Search for at most {MAX_SEARCH_WORDS} words ({MAX_SEARCH_CHARS} characters): "
                "a name, a phone number or a patient id.",
                "error",
            )
            text, status = "", 400  # the text is neither searched, shown again, nor logged
        else:
            results = queries.search_patients(services.store, text)
            audited("patients.search", detail=f"{len(results)} patients listed")
    return render_template("dashboard/patients.html", q=text, results=results), status


@bp.get("/<patient_id>")
@login_required
def detail(patient_id: str) -> ResponseReturnValue:
    return _detail(patient_id)


def _detail(patient_id: str, status: int = 200) -> ResponseReturnValue:
    services = services_of(current_app)
    d = queries.patient_detail(services.store, patient_id)
    if d is None:
        abort(404)
    audited("patient.view", patient_id=patient_id)
    years = formatting.yearly((day, cents) for day, cents, _ in d["visits"])
    return render_template(
        "dashboard/patient.html",
        d=d,
        text_thread=inbox.thread_of(services.store, patient_id),
        years=years,
        consents=CONSENTS,
        appointments=schedule.patient_appointments(
            services.store, services.practice, patient_id, services.now()
        ),
        now=services.now(),
        zone=services.practice.main.zone,
    ), status


@bp.post("/<patient_id>/opt-out")
@login_required
def record_opt_out(patient_id: str) -> ResponseReturnValue:
    services = services_of(current_app)
    if not queries.patient_exists(services.store, patient_id):
        abort(404)
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm the patient asked not to be contacted.", "error")
        return _detail(patient_id, 400)
    changed = opt_out(services.store, [patient_id], how="staff", now=services.now())
    audited("patient.opt_out", patient_id=patient_id)
    if changed:
        services.outcomes.opted_out([patient_id])
    flash(
        "Opt-out recorded: no calls, texts or emails from any campaign."
        if changed
        else "This patient had already opted out.",
        "ok",
    )
    return redirect(url_for("patients.detail", patient_id=patient_id))


@bp.post("/<patient_id>/consent")
@login_required
def record_consent(patient_id: str) -> ResponseReturnValue:
    services = services_of(current_app)
    kinds = [k for k in request.form.getlist("consent") if k in CONSENTS]
    if not kinds:
        if not queries.patient_exists(services.store, patient_id):
            abort(404)
        flash("Choose which consent the patient gave.", "error")
        return _detail(patient_id, 400)
    if not queries.record_consent(services.store, patient_id, kinds):
        abort(404)
    audited("patient.consent", patient_id=patient_id, detail=",".join(kinds))
    log.info("consent recorded for patient %s: %s", patient_id, ",".join(kinds))
    flash("Consent recorded: " + ", ".join(CONSENTS[k] for k in kinds) + ".", "ok")
    return redirect(url_for("patients.detail", patient_id=patient_id))
