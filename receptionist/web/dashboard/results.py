"""Results (managers only: revenue, cost and ROI): tier mix and value at risk, rates against the expected ranges, the funnel, lift, cost and ROI.

Aggregates only: the latest run's scores by GROUP BY, and the outcome counters (Redis; the store's own counts
when Redis is unreachable). Every chart has its table beside it and a CSV download.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from receptionist.dashboard import queries
from receptionist.dashboard.formatting import to_csv
from receptionist.dashboard.results import Table, build_tables
from receptionist.dashboard.sequences import step_tables
from receptionist.outcomes.log import live_counts, store_counts
from receptionist.outcomes.report import Report, build_report
from receptionist.outcomes.steps import step_report
from receptionist.store import ScoreRun
from receptionist.web.dashboard.audit import audited
from receptionist.web.dashboard.staff import login_required, manager_required
from receptionist.web.extension import services_of

bp = Blueprint("results", __name__, url_prefix="/results")
log = logging.getLogger(__name__)


def _tables() -> tuple[list[Table], Report, ScoreRun | None, str]:
    services = services_of(current_app)
    source = "live counters"
    try:
        counts = live_counts(services.redis)
    except (redis.RedisError, OSError):
        log.warning("results: Redis unavailable, counting from the store")
        counts, source = store_counts(services.store), "the outcome log (Redis unavailable)"
    report = build_report(counts, services.practice.outreach)
    run = queries.latest_run(services.store)
    mix = queries.cached_tier_mix(services.store, services.redis, run.id) if run else []
    # the sequences' tables: by step and tier, by sequence (from the outcome log)
    return build_tables(report, mix) + step_tables(step_report(services.store)), report, run, source


@bp.get("")
@login_required
@manager_required
def index() -> ResponseReturnValue:
    tables, report, run, source = _tables()
    return render_template("dashboard/results.html", tables=tables, report=report, run=run, source=source)


@bp.get("/<name>.csv")
@login_required
@manager_required
def csv(name: str) -> ResponseReturnValue:
    tables, *_ = _tables()
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        abort(404)
    audited("export", target=f"results/{name}.csv")
    return Response(
        to_csv(table.csv_header, table.csv_rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
