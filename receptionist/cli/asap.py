"""`receptionist asap ...`: the ASAP list (patients who asked for an earlier time) and the opened slots
offered to it by text."""

from __future__ import annotations

import datetime as dt
import json

import click

from receptionist.cli.base import UserError, cli, services_for


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the requests and offers as JSON.")
@click.pass_context
def asap(ctx: click.Context, as_json: bool) -> None:
    """The ASAP list: open requests for an earlier time and the offers in flight."""
    if ctx.invoked_subcommand is not None:
        return
    overview = services_for(ctx).asap.overview()
    if as_json:
        click.echo(json.dumps(overview, indent=2))
        return
    requests, offers = overview["requests"], overview["offers"]
    click.echo(f"open requests: {len(requests)}")
    for r in requests:
        window = f"{r['since'] or 'now'} to {r['until'] or 'any time'}"
        click.echo(
            f"  #{r['id']} patient {r['patient_id']}: {r['visit_type'] or 'any visit'}, {window} ({r['via']})"
        )
    click.echo(f"offers (open, or closed in the last day): {len(offers)}")
    for o in offers:
        click.echo(
            f"  {o['id']} {o['status']}: {o['visit_type']} at {o['start']}, closes {o['expires_at']}; "
            f"{o['texts_sent']} texted, {o['texts_waiting']} waiting, of {o['candidates']} candidates"
            + (f"; booked by patient {o['booked_patient_id']}" if o["booked_patient_id"] else "")
        )


def _instant(value: str | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{what}: expected ISO 8601 with an offset, e.g. 2026-12-08T10:00:00-05:00") from None
    if parsed.tzinfo is None:
        raise UserError(f"{what}: give the time's UTC offset, e.g. 2026-12-08T10:00:00-05:00")
    return parsed


@asap.command(name="add")
@click.argument("patient_id")
@click.option(
    "--visit-type", default="", help="A visit type id of the practice file (default: any that fits)."
)
@click.option("--location", "location_id", default="", help="A location id (default: any).")
@click.option("--until", default=None, help="Only times before this (ISO 8601 with its offset).")
@click.pass_context
def asap_add(
    ctx: click.Context, patient_id: str, visit_type: str, location_id: str, until: str | None
) -> None:
    """Put a patient on the list: they are texted when a time that fits opens."""
    try:
        request_id = services_for(ctx).asap.request(
            patient_id,
            visit_type=visit_type,
            location_id=location_id,
            until=_instant(until, "--until"),
            via="staff",
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"request #{request_id} for patient {patient_id} is on the ASAP list")


@asap.command(name="open")
@click.option("--location", "location_id", default=None, help="The location id (default: the main one).")
@click.option("--provider", required=True, help="The provider whose time opened.")
@click.option("--start", required=True, help="When it starts (ISO 8601 with its offset).")
@click.option("--visit-type", required=True, help="The visit type id to offer it as.")
@click.pass_context
def asap_open(
    ctx: click.Context, location_id: str | None, provider: str, start: str, visit_type: str
) -> None:
    """A time opened in the schedule: offer it to the list (texts go out from the workers)."""
    services = services_for(ctx)
    location = location_id or services.practice.main.id
    when = _instant(start, "--start")
    assert when is not None
    unit = services.asap.unit_at(location, provider, when)
    if unit is None:
        raise UserError(f"--start: the schedule has no unit of {provider!r} at {start}")
    try:
        offer = services.asap.open_slot(location, unit, visit_type, why="staff")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    click.echo(
        f"offer {offer} started" if offer else "nothing to offer: the time is taken, too soon, or nobody fits"
    )
