"""`receptionist recall plan | run`: reminders for patients due for a recall visit (hygiene, check-ups).

A recall campaign is kept apart from reactivation: kind "recall", purpose "exempt" (the healthcare
exemption's limits), one attempt per reminder step (`<campaign>:<patient>:<step>`), sent by the same workers
within the same gates. Run it once a day (cron, or a scheduler): each run makes the reminders whose day has
come (`outreach/recall.py`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from receptionist.cli.base import UserError, cli, services_for


@cli.group()
def recall() -> None:
    """Recall reminders for patients due for a hygiene or periodic visit."""


@recall.command(name="plan")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (ids, due dates, steps).")
@click.pass_context
def recall_plan(ctx: click.Context, as_json: bool) -> None:
    """Who is due for a recall reminder today, which step of the sequence, through which channel."""
    from receptionist.outreach.recall import build_recall_plan

    services = services_for(ctx)
    made = build_recall_plan(services.store, services.practice, services.now())
    if as_json:
        click.echo(json.dumps(made.as_json(), indent=2))
        return
    body = made.as_json()
    click.echo(f"recall plan for {made.today.isoformat()}: {len(made.due)} reminders")
    for step, n in sorted(body["by_step"].items()):
        days = services.practice.recall.steps[int(step) - 1].days
        click.echo(f"  step {step} ({days:+d} days from the due date): {n}")
    for channel, n in sorted(body["by_channel"].items()):
        click.echo(f"  {channel.replace('_', ' ')}: {n}")
    if made.plan.left_out:
        click.echo("left out:")
        for why, n in sorted(made.plan.left_out.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"  {n:,} {why}")
    click.echo(f"expected cost ${made.plan.expected_cost:,.2f}")


@recall.command(name="run")
@click.option("--json", "as_json", is_flag=True, help="Print what was started as JSON.")
@click.pass_context
def recall_run(ctx: click.Context, as_json: bool) -> None:
    """Start today's recall reminders as a recall campaign; workers send them within the gates."""
    from receptionist.outreach.campaigns import CampaignError
    from receptionist.outreach.recall import RECALL_KIND, build_recall_plan

    services = services_for(ctx)
    now = services.now()
    made = build_recall_plan(services.store, services.practice, now)
    body: dict[str, Any]
    if not made.due:
        body = {"campaign_id": None, "reminders": 0, "enqueued": 0, "left_out": made.plan.left_out}
        if as_json:
            click.echo(json.dumps(body, indent=2))
        else:
            click.echo("no recall reminders are due today")
        return
    try:
        started = services.campaigns.start(made.plan, now, kind=RECALL_KIND)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    body = {
        "campaign_id": started.campaign_id,
        "reminders": started.attempts,
        "enqueued": started.enqueued,
        "left_out": made.plan.left_out,
    }
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"recall campaign {started.campaign_id}: {started.enqueued} reminders queued for the workers "
        "(healthcare messages: at most 1 a day and 3 a week per patient)"
    )
    click.echo("follow it with `receptionist campaign status " + started.campaign_id + "`")
