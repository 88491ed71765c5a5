"""Sign-in and sign-out. Failures are counted per name; five in a row lock it for fifteen minutes. A sign-in
starts a server-side session (`accounts.start_session`); sign-out deletes it, so the cookie is worthless after."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from receptionist.dashboard import accounts
from receptionist.web.dashboard.staff import StaffMember, login_required
from receptionist.web.extension import services_of

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("today.index")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("today.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("today.index"))
    error = None
    username = ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")
        if not username.strip() or not password:
            error, status = "Enter your username and password.", 400
        else:
            services = services_of(current_app)
            result = accounts.authenticate(
                services.store, services.queue_redis, username, password, services.now()
            )
            if result.user_id is not None:
                session.clear()
                token = accounts.start_session(services.store, result.uid, services.now())
                login_user(StaffMember(token, result.uid, username.strip(), result.role))
                session.permanent = True
                log.info("staff user %s signed in", result.user_id)
                return redirect(_safe_next(request.args.get("next")))
            error, status = result.message, 401
    return render_template("dashboard/login.html", error=error, username=username), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    accounts.end_session(services_of(current_app).store, current_user.session_token)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
