"""The audit log's page and CSV export (managers only), and `audited`, which every page that shows or exports
patient data calls to add its entry."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from receptionist.dashboard import audit
from receptionist.dashboard.formatting import to_csv
from receptionist.integrations.apikeys import list_keys
from receptionist.web.dashboard.staff import login_required, manager_required
from receptionist.web.extension import services_of

bp = Blueprint("audit", __name__)


def audited(action: str, *, patient_id: str | None = None, target: str = "", detail: str = "") -> None:
    """Add an entry for the signed-in staff member, now."""
    services = services_of(current_app)
    who = audit.Actor(current_user.uid, current_user.username, current_user.role)
    audit.record(
        services.store, who, action, services.now(), patient_id=patient_id, target=target, detail=detail
    )


def _webhook_failures(services: Any) -> list[dict[str, Any]] | None:
    """Failed outgoing webhook deliveries, newest first, each with its integration's name; None when Redis,
    which keeps them, cannot be read."""
    from receptionist.integrations.webhooks import recent_failures

    try:
        failures = recent_failures(services.redis)
    except (redis.RedisError, OSError):
        return None
    names = {k.id: k.name for k in list_keys(services.store)} if failures else {}
    return [{**f, "name": names.get(f["key_id"], f["key_id"])} for f in failures]


def _patient_filter() -> str | None:
    return request.args.get("patient", "").strip()[:64] or None


@bp.get("/audit")
@login_required
@manager_required
def index() -> ResponseReturnValue:
    services = services_of(current_app)
    patient_id = _patient_filter()
    username = request.args.get("user", "").strip()[:64] or None
    events = audit.recent(services.store, patient_id=patient_id, username=username)
    return render_template(
        "dashboard/audit.html",
        events=events,
        failures=_webhook_failures(services),
        patient_id=patient_id or "",
        username=username or "",
        zone=services.practice.main.zone,
        page=audit.PAGE,
    )


@bp.get("/audit.csv")
@login_required
@manager_required
def export() -> ResponseReturnValue:
    services = services_of(current_app)
    patient_id = _patient_filter()
    audited("audit.export", patient_id=patient_id, target="audit.csv")
    body = to_csv(audit.COLUMNS, audit.export_rows(services.store, patient_id=patient_id))
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'}
    )
