"""Schedule: one location's day or week per provider (open, booked and held time, who booked, the call that
did), and the forms that book, move and cancel visits (front desk and managers, audited).

The grid is its own template (`dashboard/_schedule_grid.html`), served alone at `/schedule/grid` with the same
arguments as the page, so a part of the page can be fetched again without reloading the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from receptionist.config.practice import Location
from receptionist.dashboard import booking, queries, schedule
from receptionist.web.dashboard import live
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.patients import MAX_SEARCH_CHARS, MAX_SEARCH_WORDS
from receptionist.web.dashboard.staff import login_required
from receptionist.web.extension import services_of

bp = Blueprint("schedule", __name__, url_prefix="/schedule")
log = logging.getLogger(__name__)
VIEWS = ("day", "week")
MAX_YEARS_AWAY = 10  # a day further from today is a typing slip (and years past 9999 do not exist)


def _location() -> Location:
    practice = services_of(current_app).practice
    wanted = request.values.get("location", "")
    if not wanted:
        return practice.main
    found = next((loc for loc in practice.locations if loc.id == wanted), None)
    if found is None:
        abort(404)
    return found


def _day(location: Location) -> dt.date:
    today = location.today(services_of(current_app).now())
    text = request.args.get("day", "")
    if text:
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            flash("That is not a date: showing today.", "error")
            return today
        if abs((day - today).days) <= MAX_YEARS_AWAY * 366:
            return day
        flash(f"Choose a day within {MAX_YEARS_AWAY} years of today: showing today.", "error")
    return today


def _int(name: str) -> int | None:
    try:
        return int(request.values.get(name, ""))
    except ValueError:
        return None


def _context(audit: bool = True) -> dict[str, Any]:
    """What the page and its grid fragment show, from the query string; one audit entry (`audit`), else the
    audit is the caller's (a live refresh audits only a grid that changed)."""
    services = services_of(current_app)
    location = _location()
    day = _day(location)
    view = request.args.get("view", "day")
    view = view if view in VIEWS else "day"
    first, days = (schedule.week_start(day), 7) if view == "week" else (day, 1)
    now = services.now()
    grid = schedule.location_grid(services.store, location, first, days, now)
    moving = None
    move_id = _int("move")
    if move_id is not None:
        moving = schedule.visit_by_id(services.store, services.practice, move_id)
        if moving is None or moving.status != "booked":
            flash("That appointment is no longer booked: nothing to move.", "error")
            moving = None
    patient_id = request.args.get("patient", "").strip()[:64] or None
    visits = sum(len(v) for d in grid.days for v in d.visits.values())
    target, detail = f"{location.id}:{first.isoformat()}:{view}", f"{visits} visits listed"
    if audit:
        audited("schedule.view", target=target, detail=detail)
    step = dt.timedelta(days=7 if view == "week" else 1)
    return {
        "grid": grid,
        "location": location,
        "zone": location.zone,
        "zone_name": dt.datetime.combine(first, dt.time(12), location.zone).tzname(),
        "view": view,
        "day": day,
        "previous": day - step,
        "next": day + step,
        "today": location.today(now),
        "moving": moving,
        "move_providers": _providers_of(moving.kind) if moving else (),
        "patient_id": patient_id,
        "counts": {s: grid.count(s) for s in ("booked", "open", "held")},
        "audit_target": target,
        "audit_detail": detail,
    }


def _providers_of(type_id: str) -> tuple[str, ...]:
    visit = services_of(current_app).practice.visit_type(type_id)
    return visit.providers if visit else ()


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    context = _context()
    html, tag = live.render_part("dashboard/_schedule_grid.html", **context)
    return render_template(
        "dashboard/schedule.html",
        live_html=html,
        live_tag=tag,
        live_every=live.EVERY_S,
        live_url=url_for("schedule.grid")
        + (f"?{request.query_string.decode()}" if request.query_string else ""),
        **context,
    )


@bp.get("/grid")
@login_required
def grid() -> ResponseReturnValue:
    """The grid alone: a page's live refresh (304 when nothing changed, audited when it did)."""
    context = _context(audit=False)
    return live.part_response(
        "dashboard/_schedule_grid.html",
        lambda: audited("schedule.view", target=context["audit_target"], detail=context["audit_detail"]),
        **context,
    )


@bp.get("/book")
@login_required
def book_form() -> ResponseReturnValue:
    return _book_page()


def _book_page(status: int = 200, error: str | None = None) -> ResponseReturnValue:
    services = services_of(current_app)
    unit_id = _int("unit")
    if unit_id is None:
        abort(404)
    unit = schedule.unit(services.store, unit_id)
    if unit is None:
        abort(404)
    location = next((loc for loc in services.practice.locations if loc.id == unit.location_id), None)
    if location is None:
        abort(404)
    text = request.values.get("q", "")
    results = None
    if text.strip():
        if len(text) > MAX_SEARCH_CHARS or len(text.split()) > MAX_SEARCH_WORDS:
            error = error or f"Search for at most {MAX_SEARCH_WORDS} words: a name, a phone number or an id."
            text = ""
        else:
            results = queries.search_patients(services.store, text)
            audited("patients.search", detail=f"{len(results)} patients listed")
    patient_id = request.values.get("patient", "").strip()[:64]
    chosen = schedule.patient_name(services.store, patient_id) if patient_id else None
    if chosen is not None:
        audited("patient.view", patient_id=patient_id, detail="schedule booking form")
    types = [v for v in services.practice.visit_types if unit.provider in v.providers]
    return render_template(
        "dashboard/schedule_book.html",
        unit=unit,
        location=location,
        zone=location.zone,
        types=types,
        q=text,
        results=results,
        patient_id=patient_id if chosen is not None else "",
        patient_name=chosen,
        visit_type=request.values.get("visit_type", ""),
        error=error,
    ), status


@bp.post("/book")
@login_required
def book() -> ResponseReturnValue:
    services = services_of(current_app)
    unit_id = _int("unit")
    patient_id = request.form.get("patient", "").strip()[:64]
    if unit_id is None:
        abort(404)
    if request.form.get("action") == "search":
        return _book_page()
    if not patient_id:
        return _book_page(400, "Choose the patient first: search by name, phone number or id.")
    try:
        appointment = booking.book_visit(
            services.store,
            services.practice,
            patient_id=patient_id,
            visit_type=request.form.get("visit_type", ""),
            unit_id=unit_id,
            now=services.now(),
        )
    except booking.Refused as refused:
        return _book_page(409, str(refused))
    audited("appointment.book", patient_id=patient_id, target=str(appointment.id))
    log.info("staff booked appointment %s", appointment.id)
    return _done(appointment.id, "Booked")


@bp.get("/appointments/<int:appointment_id>")
@login_required
def appointment(appointment_id: int) -> ResponseReturnValue:
    return _appointment_page(appointment_id)


def _appointment_page(
    appointment_id: int, status: int = 200, error: str | None = None
) -> ResponseReturnValue:
    services = services_of(current_app)
    visit = schedule.visit_by_id(services.store, services.practice, appointment_id)
    if visit is None:
        abort(404)
    audited("appointment.view", patient_id=visit.patient_id, target=str(appointment_id))
    location = next(
        (loc for loc in services.practice.locations if loc.id == visit.location_id), services.practice.main
    )
    return render_template(
        "dashboard/schedule_appointment.html",
        v=visit,
        location=location,
        zone=location.zone,
        visit_type=services.practice.visit_type(visit.kind),
        now=services.now(),
        error=error,
    ), status


@bp.post("/appointments/<int:appointment_id>/move")
@login_required
def move(appointment_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    unit_id = _int("unit")
    if unit_id is None:
        return _appointment_page(appointment_id, 400, "Choose the new time on the schedule.")
    try:
        moved = booking.move_visit(
            services.store,
            services.practice,
            appointment_id=appointment_id,
            unit_id=unit_id,
            now=services.now(),
        )
    except booking.Refused as refused:
        return _appointment_page(appointment_id, 409, str(refused))
    audited(
        "appointment.move", patient_id=moved.patient_id, target=str(moved.id), detail=f"from {appointment_id}"
    )
    log.info("staff moved appointment %s to %s", appointment_id, moved.id)
    return _done(moved.id, "Moved")


@bp.post("/appointments/<int:appointment_id>/cancel")
@login_required
def cancel(appointment_id: int) -> ResponseReturnValue:
    services = services_of(current_app)
    if request.form.get("confirm") != "yes":
        return _appointment_page(
            appointment_id, 400, "Tick the box to confirm the patient's visit is cancelled."
        )
    try:
        cancelled = booking.cancel_visit(services.store, appointment_id=appointment_id, now=services.now())
    except booking.Refused as refused:
        return _appointment_page(appointment_id, 409, str(refused))
    audited("appointment.cancel", patient_id=cancelled.patient_id, target=str(appointment_id))
    log.info("staff cancelled appointment %s", appointment_id)
    return _done(appointment_id, "Cancelled")


def _done(appointment_id: int, what: str) -> ResponseReturnValue:
    services = services_of(current_app)
    visit = schedule.visit_by_id(services.store, services.practice, appointment_id)
    assert visit is not None  # just written
    kind = services.practice.visit_type(visit.kind)
    zone = schedule.zone_of(services.practice, visit.location_id)
    flash(
        f"{what}: {visit.patient_name}, {kind.name if kind else visit.kind} with {visit.provider}, "
        f"{visit.when(zone)}.",
        "ok",
    )
    return redirect(url_for("schedule.index", location=visit.location_id, day=visit.start.date().isoformat()))
