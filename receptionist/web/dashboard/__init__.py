"""The staff dashboard: server-rendered pages behind a sign-in, one blueprint per page family.

`init_dashboard(app)` sets the session cookie up (HttpOnly, SameSite=Lax, Secure over https, signed with a key
generated into the data folder, never extended by a request), Flask-Login for who is signed in, and Flask-WTF's
CSRF check on every form. Who is signed in is decided on the server at every request: the cookie names a
session row (`accounts.session_user`), which sign-out, the account's removal or a password change delete, and
which ends `DASHBOARD_SESSION_HOURS` after sign-in or `DASHBOARD_IDLE_MINUTES` after the last request.
Roles: the front desk sees Today, Inbox, Schedule (and books there), Patients, Calls and Try it; a manager also Campaigns, Results and the audit
log. The Twilio, health and API routes are exempt from the CSRF check and need no sign-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden

from receptionist.dashboard import accounts, formatting
from receptionist.dashboard import inbox as inbox_queries
from receptionist.web.dashboard.staff import StaffMember
from receptionist.web.extension import services_of

csrf = CSRFProtect()
# Pages, scripts and charts come from this server only (the dashboard works with no internet).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "media-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class DashboardSessions(SecureCookieSessionInterface):
    """The signed session cookie, for the dashboard's pages only.

    Opening and saving a signed session costs a webhook about a fifth of its CPU (a signing serializer made
    per request, the cookie looked up and set). The routes of the blueprints `init_dashboard` exempts (Twilio's
    webhooks, the health check, the APIs: they carry no cookie) get Flask's read-only null session, found by
    their paths up to the first variable part.
    """

    def __init__(self, no_session: tuple[str, ...] = ()) -> None:
        self.no_session = no_session

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.no_session):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, self.null_session_class):
            return
        super().save_session(app, session, response)


def init_dashboard(app: Flask, exempt: list[Any]) -> None:
    services = services_of(app)
    settings = services.settings
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key
    lifetime = dt.timedelta(hours=settings.dashboard_session_hours)
    idle = dt.timedelta(minutes=settings.dashboard_idle_minutes)
    app.config.update(
        SESSION_COOKIE_NAME="receptionist_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=lifetime,
        SESSION_REFRESH_EACH_REQUEST=False,  # an absolute lifetime: requests never push the expiry on
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),
    )
    exempt_names = {bp.name for bp in exempt}
    app.session_interface = DashboardSessions(
        tuple(
            sorted(
                {
                    rule.rule.split("<", 1)[0]
                    for rule in app.url_map.iter_rules()
                    if rule.endpoint.split(".", 1)[0] in exempt_names
                }
            )
        )
    )
    csrf.init_app(app)
    for bp in exempt:
        csrf.exempt(bp)

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "Please sign in to see this page."
    login.login_message_category = "info"
    login.session_protection = "basic"

    def load(session_token: str) -> StaffMember | None:
        services = services_of(app)
        who = accounts.session_user(
            services.store, session_token, services.now(), idle=idle, lifetime=lifetime
        )
        return StaffMember(session_token, who.uid, who.username, who.role) if who is not None else None

    login.user_loader(load)

    from receptionist.web.dashboard import (
        audit,
        auth,
        calls,
        campaigns,
        inbox,
        patients,
        results,
        schedule,
        today,
        tryit,
    )

    for module in (auth, today, inbox, schedule, patients, calls, campaigns, results, tryit, audit):
        app.register_blueprint(module.bp)
    families = {
        "auth",
        "today",
        "inbox",
        "schedule",
        "patients",
        "calls",
        "campaigns",
        "results",
        "tryit",
        "audit",
    }

    @app.errorhandler(403)
    def forbidden(_error: Exception) -> ResponseReturnValue:
        if request.blueprint not in families:
            return Forbidden().get_response()
        return render_template(
            "dashboard/error.html",
            title="Managers only",
            message="This page is for the practice's managers. Ask one to change your role if you need it.",
        ), 403

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> ResponseReturnValue:
        return render_template(
            "dashboard/error.html",
            title="Form expired",
            message="This form could not be accepted: its security token was missing or too old "
            f"({error.description}). Go back, reload the page and try again.",
        ), 400

    @app.after_request
    def headers(response: Response) -> Response:
        # every response gets the headers of `web.security`; the dashboard's pages this CSP instead of its own
        if request.blueprint in families or request.path.startswith("/static/"):
            response.headers["Content-Security-Policy"] = CSP
        if request.blueprint in families and request.blueprint != "auth":
            # patient data: never kept by the browser or a proxy
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def helpers() -> dict[str, Any]:
        services = services_of(app)
        # the Inbox link's count of new threads, read only by a page that shows the navigation
        return {
            "fmt": formatting,
            "practice": services.practice,
            "inbox_new": lambda: inbox_queries.new_count(services.store),
        }
