"""`receptionist stats`: outcome statistics by tier, channel and month, and rebuilding the live counters."""

from __future__ import annotations

import datetime as dt
import json

import click

from receptionist.cli.base import UserError, cli, services_for


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--month", "months", multiple=True, help="Only this month (YYYY-MM, repeatable).")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Attribute visits up to this day (default today).",
)
@click.pass_context
def stats(ctx: click.Context, as_json: bool, months: tuple[str, ...], as_of: dt.datetime | None) -> None:
    """Outcome statistics by value tier and channel: rates with 95% intervals, lift, cost per reactivation, ROI."""
    if ctx.invoked_subcommand is not None:
        return
    from receptionist.outcomes.log import store_counts
    from receptionist.outcomes.report import build_report, render
    from receptionist.outcomes.steps import render_steps, step_report

    for m in months:
        try:
            dt.datetime.strptime(m, "%Y-%m")
        except ValueError:
            raise UserError(f"--month: expected YYYY-MM, got {m!r}") from None
    services = services_for(ctx)
    services.outcomes.attribute(as_of.date() if as_of else None)
    report = build_report(store_counts(services.store), services.practice.outreach, months or None)
    by_step = step_report(services.store)  # response by step and tier, cost per reactivation by sequence
    if as_json:
        click.echo(json.dumps({**report.as_json(), **by_step}, indent=2))
    else:
        click.echo(render(report))
        for line in render_steps(by_step):
            click.echo(line)


@stats.command(name="rebuild")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Attribute visits up to this day (default today).",
)
@click.pass_context
def stats_rebuild(ctx: click.Context, as_of: dt.datetime | None) -> None:
    """Recompute the live counters in Redis exactly from the outcome log (after Redis lost its data)."""
    import time

    import redis as redis_lib

    from receptionist.outcomes.log import rebuild

    services = services_for(ctx)
    start = time.perf_counter()
    try:
        added = services.outcomes.attribute(as_of.date() if as_of else None)
        counts = rebuild(services.store, services.queue_redis)
    except (redis_lib.RedisError, OSError) as exc:
        raise UserError(f"the counters could not be written to Redis ({exc})") from None
    events = sum(n for n, _ in counts.values())
    click.echo(
        f"outcome counters rebuilt from {events:,} events in {len({k[0] for k in counts})} months "
        f"({added} new attributed events) in {time.perf_counter() - start:.1f} s"
    )
