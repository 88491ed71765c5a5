"""The Flask app factory: one blueprint per family of routes, services handed in or built from settings."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from receptionist.config.settings import load_settings
from receptionist.runtime.services import Services, build_services
from receptionist.web.extension import bind, services_of

__all__ = ["create_app", "services_of"]


def create_app(config: dict[str, Any] | None = None, services: Services | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    if services is None:
        services = build_services(load_settings())
    bind(app, services)
    app.extensions["app_factory"] = create_app  # Try it builds its sandbox's app with it (no import cycle)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from receptionist.web import api, health, outreach, relay, stats, voice
    from receptionist.web.security import init_security

    init_security(app)  # before the blueprints: its after_request runs last, after the dashboard's headers

    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(relay.bp)
    app.register_blueprint(outreach.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(api.bp)

    from receptionist.web.dashboard import init_dashboard

    # the staff dashboard: sign-in and CSRF for its own pages; the webhooks, health and API stay as they are
    # (`/api/stats` reads the dashboard's session: a manager's, or an API key with the stats scope)
    init_dashboard(app, exempt=[health.bp, voice.bp, relay.bp, outreach.bp, api.bp])
    return app
