"""`receptionist campaign ...`: plan, run, follow, pause and export reactivation campaigns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from receptionist.cli.base import UserError, cli, services_for
from receptionist.outreach.campaigns import Campaigns


@cli.group()
def campaign() -> None:
    """Reactivation campaigns for lapsed patients."""


@campaign.command(name="plan")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (counts and totals).")
@click.pass_context
def campaign_plan(ctx: click.Context, as_json: bool) -> None:
    """Who to contact from the latest score run, through which channel, and what it should cost and return."""
    from receptionist.outreach.planner import CHANNELS, build_plan
    from receptionist.patients.export import NoScoreRun

    services = services_for(ctx)
    try:
        plan = build_plan(
            services.store, services.practice, services.now(), email_on=services.mailer is not None
        )
    except NoScoreRun as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(plan.as_json(), indent=2))
        return
    click.echo(f"reactivation plan from run {plan.run_id}: {len(plan.contacts)} patients")
    explained = plan.explain()
    if explained:
        click.echo("left out of the plan:" if plan.contacts else explained[0])
        for line in explained if plan.contacts else explained[1:]:
            click.echo(f"  {line}")
    click.echo(f"{'tier':<6}" + "".join(f"{ch:>12}" for ch in CHANNELS))
    for tier, row in plan.counts.items():
        click.echo(f"{tier:<6}" + "".join(f"{row.get(ch, 0):>12}" for ch in CHANNELS))
    click.echo(
        f"expected cost ${plan.expected_cost:,.2f}, "
        f"expected recovered value ${plan.expected_recovered_value:,.2f} (value x P(response) - cost)"
    )
    if plan.mix:
        click.echo("channel mix:")
        for mix in plan.mix.values():
            click.echo(f"  {mix['reason']}")
    staff = [c for c in plan.contacts if c.channel == "staff_call"]
    if staff:
        click.echo("staff call list (first 5):")
        for c in staff[:5]:
            click.echo(f"  {c.name or c.patient_id}: {'; '.join(c.talking_points)}")


def _campaigns(ctx: click.Context) -> Campaigns:

    return services_for(ctx).campaigns


@campaign.command(name="run")
@click.option("--json", "as_json", is_flag=True, help="Print what was started as JSON.")
@click.pass_context
def campaign_run(ctx: click.Context, as_json: bool) -> None:
    """Start a campaign from the current plan: one job per AI call, text or email; workers send them."""
    from receptionist.outreach.campaigns import CampaignError
    from receptionist.outreach.planner import build_plan
    from receptionist.patients.export import NoScoreRun

    services = services_for(ctx)
    try:
        plan = build_plan(
            services.store, services.practice, services.now(), email_on=services.mailer is not None
        )
        started = _campaigns(ctx).start(plan, services.now())
    except (NoScoreRun, CampaignError) as exc:
        raise UserError(str(exc)) from None
    body = {
        "campaign_id": started.campaign_id,
        "attempts": started.attempts,
        "enqueued": started.enqueued,
        "staff_calls": started.staff_calls,
        "general": started.general,
        "holdout": started.holdout,
    }
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"campaign {started.campaign_id}: {started.enqueued} AI calls, texts and emails queued for the "
        f"workers, {started.staff_calls} on the staff call list, {started.general} for the general "
        f"campaign, {started.holdout} held out to measure lift"
    )
    click.echo(
        "follow it with `receptionist campaign status`; workers send within the calling hours and limits"
    )


@campaign.command(name="status")
@click.argument("campaign_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the progress as JSON.")
@click.pass_context
def campaign_status(ctx: click.Context, campaign_id: str | None, as_json: bool) -> None:
    """Progress of a campaign (default: the latest): attempts by channel and status, results, cost."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        body = _campaigns(ctx).status(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    body["sequences"] = services_for(ctx).sequences.progress(body["campaign_id"])
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"campaign {body['campaign_id']} ({body['status']}), {body['pending']} still to send, "
        f"cost so far ${body['cost']:,.2f} ({body['cost_includes']}: "
        f"${body['cost_parts']['charges']:,.2f} + ${body['cost_parts']['minutes']:,.2f})"
    )
    deferred = body["deferred"]
    if deferred["count"]:
        click.echo(
            f"  {deferred['count']} waiting for their calling hours (in each patient's time zone); "
            f"the next goes out {deferred['next_send_local']}"
        )
    for channel, by in sorted(body["attempts"].items()):
        click.echo(f"  {channel:<11}" + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    if body["results"]:
        click.echo("  results: " + ", ".join(f"{k} {v}" for k, v in sorted(body["results"].items())))
    _echo_sequences(body["sequences"])


SHOWN_PATIENTS = 20


def _echo_sequences(seqs: dict[str, Any]) -> None:
    """Where each patient of a sequence stands: the step, the next one and when it is due (local, in words)."""
    patients = seqs["patients"]
    if not patients:
        return
    click.echo(
        "  sequences, patients by current step: " + ", ".join(f"{k} {v}" for k, v in seqs["by_step"].items())
    )
    for p in patients[:SHOWN_PATIENTS]:
        now = f"step {p['step'] + 1} of {p['steps']} ({p['channel'].replace('_', ' ')}, {p['status']})"
        if p["stopped"]:
            then = f"stopped: {p['stopped']}"
        elif p["next_step"] is not None:
            then = f"next: step {p['next_step'] + 1} ({p['next_channel'].replace('_', ' ')}) {p['due_local']}"
        else:
            then = "no step after this one"
        click.echo(f"    {p['patient_id']} [{p['tier']}, {p['sequence']}] {now}; {then}")
    if len(patients) > SHOWN_PATIENTS:
        click.echo(f"    ... and {len(patients) - SHOWN_PATIENTS} more (all of them with --json)")


@campaign.command(name="pause")
@click.argument("campaign_id", required=False)
@click.pass_context
def campaign_pause(ctx: click.Context, campaign_id: str | None) -> None:
    """Stop sending (jobs already queued wait); `resume` carries on."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        cid = _campaigns(ctx).pause(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"campaign {cid} paused")


@campaign.command(name="resume")
@click.argument("campaign_id", required=False)
@click.pass_context
def campaign_resume(ctx: click.Context, campaign_id: str | None) -> None:
    """Carry on sending a paused campaign (default: the latest): its paused attempts are queued again."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        cid, n = _campaigns(ctx).resume(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"campaign {cid} running; {n} paused attempts queued again")


@campaign.command(name="calls")
@click.argument("campaign_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the call list as JSON.")
@click.pass_context
def campaign_calls(ctx: click.Context, campaign_id: str | None, as_json: bool) -> None:
    """The staff call list: patients to call personally, with talking points (patient data: staff only)."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        rows = _campaigns(ctx).staff_list(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        done = (
            f" [{r['status']}{', ' + r['result'] if r['result'] else ''}]" if r["status"] != "listed" else ""
        )
        click.echo(f"{r['attempt_id']}  {r['name']}  {r['phone']}{done}")
        for point in r["talking_points"]:
            click.echo(f"    - {point}")


@campaign.command(name="call-now")
@click.argument("attempt_id")
@click.option("--staff", "staff_number", required=True, help="The staff member's phone, rung first.")
@click.pass_context
def campaign_call_now(ctx: click.Context, attempt_id: str, staff_number: str) -> None:
    """Bridge a staff member's phone to a patient on the call list (the staff leg rings first)."""
    from receptionist.outreach.campaigns import CampaignError
    from receptionist.phones import InvalidPhone, to_e164

    try:
        number = to_e164(staff_number)
        sid = _campaigns(ctx).call_now(attempt_id, number)
    except InvalidPhone as exc:
        raise UserError(f"--staff: {exc}") from None
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"calling the staff phone now (call {sid}); press 1 to be connected to the patient")


@campaign.command(name="simulate")
@click.option(
    "--seed", default=7, show_default=True, type=int, help="Seed of the simulated patients' answers."
)
@click.option("--force", is_flag=True, help="Simulate on a practice file other than the demo practice.")
@click.option(
    "--days",
    type=click.IntRange(1, 90),
    default=None,
    help="Run a sequence campaign day by day for this many simulated days instead (the local Twilio "
    "stand-in and simulated patients answer; each day prints what went out and who stopped).",
)
@click.pass_context
def campaign_simulate(ctx: click.Context, seed: int, force: bool, days: int | None) -> None:
    """Write a simulated campaign month (planned 35 days ago; nothing is sent) into the store, with outcomes
    drawn from known true rates and the returns as visits, for trying `stats` and the learning on the demo;
    or, with --days, run a sequence campaign over simulated days through the gates and the stand-in."""
    from receptionist.outreach.campaigns import CampaignError
    from receptionist.patients.export import NoScoreRun
    from receptionist.simulation.campaign import simulate_month
    from receptionist.simulation.sequence_days import simulate_days

    services = services_for(ctx)
    if services.practice.source != "demo practice" and not force:
        raise UserError("campaign simulate writes simulated visits: use it on the demo practice (or --force)")
    if days is not None:
        try:
            ran = simulate_days(services, days=days, seed=seed, echo=click.echo)
        except (NoScoreRun, CampaignError) as exc:
            raise UserError(str(exc)) from None
        sent = ", ".join(f"{n} {ch.replace('_', ' ')}" for ch, n in sorted(ran["sent"].items())) or "nothing"
        click.echo(
            f"{ran['days']} days: sent {sent}; {ran['stopped']} sequences stopped at a response; "
            f"next: receptionist campaign status {ran['campaign_id']}, receptionist stats"
        )
        return
    try:
        done = simulate_month(services, seed=seed)
    except NoScoreRun as exc:
        raise UserError(str(exc)) from None
    click.echo(
        f"simulated campaign {done['campaign_id']}: {done['contacts']} contacts, {done['held_out']} held "
        f"out, {done['responded']} responded, {done['returned']} came back; next: receptionist stats"
    )


@campaign.command(name="export")
@click.argument("campaign_id", required=False)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The CSV file to write.",
)
@click.pass_context
def campaign_export(ctx: click.Context, campaign_id: str | None, out: Path) -> None:
    """The general-campaign patients as CSV, for the practice's own mailing or newsletter tool."""
    from receptionist.dashboard import audit
    from receptionist.outreach.campaigns import CampaignError

    try:
        n = _campaigns(ctx).export_general(campaign_id, out)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    services = services_for(ctx)
    audit.record(
        services.store,
        audit.cli_actor(),
        "export",
        services.now(),
        target=f"campaign export {campaign_id or 'latest'}",
        detail=f"{n} patients",
    )
    click.echo(f"wrote {n} patients to {out}")
