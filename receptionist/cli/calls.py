"""`receptionist call`: a simulated inbound call played exactly as Twilio would."""

from __future__ import annotations

import datetime as dt
import json
from typing import cast

import click

from receptionist.cli.base import UserError, cli, services_for
from receptionist.clock import clock_from
from receptionist.config.settings import Settings


@cli.command()
@click.option("--from", "from_", required=True, help="The caller's number.")
@click.option("--to", default=None, help="The practice number called (default: the main location's).")
@click.option(
    "--say", "says", multiple=True, help="What the caller says at the next speech prompt (repeatable)."
)
@click.option("--digits", "digits", multiple=True, help="Keys the caller presses at a keypad prompt.")
@click.option(
    "--staff",
    type=click.Choice(["accept", "decline", "no-answer", "busy"]),
    default="accept",
    show_default=True,
    help="What staff do when the call is transferred.",
)
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M"]),
    default=None,
    help="Place the call at this local time of the location (in process only).",
)
@click.option("--url", default=None, help="A running server's base URL (default: the app in process).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def call(
    ctx: click.Context,
    from_: str,
    to: str | None,
    says: tuple[str, ...],
    digits: tuple[str, ...],
    staff: str,
    at: dt.datetime | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Place a simulated inbound call exactly as Twilio would, and print the transcript or the outcome."""
    from receptionist.phones import InvalidPhone, to_e164
    from receptionist.simulation.simulator import (
        CallSimulator,
        FlaskTransport,
        HttpTransport,
        StaffAction,
        StaffScript,
        Transport,
        transcript_text,
    )

    try:
        caller = to_e164(from_)
        called = to_e164(to) if to else None
    except InvalidPhone as exc:
        raise UserError(f"--from/--to: {exc}") from None
    settings: Settings = ctx.obj["settings"]
    if url:
        if at is not None:
            raise UserError("--at works only in process (without --url)")
        from receptionist.config.practice import PracticeFileError, load_practice

        try:
            called = called or load_practice(settings.practice_file).main.phone
        except PracticeFileError as exc:
            raise UserError(str(exc)) from None
        base = url.rstrip("/")
        transport: Transport = HttpTransport()
        clock = clock_from(settings.receptionist_clock)
    else:
        from receptionist.web import create_app

        services = services_for(ctx)
        called = called or services.practice.main.phone
        if at is not None:
            location = services.practice.location_for(called) or services.practice.main
            start = at.replace(tzinfo=location.zone)
            services.now = clock_from(start)
        base = settings.base_url
        transport = FlaskTransport(create_app(services=services), base_url=base)
        clock = services.now
    simulator = CallSimulator(
        transport,
        base_url=base,
        auth_token=settings.auth_token,
        account_sid=settings.account_sid,
        clock=clock,
    )
    try:
        result = simulator.call(
            from_=caller,
            to=called,
            says=list(says),
            digits=list(digits),
            staff=StaffScript(cast(StaffAction, staff)),
        )
    except OSError as exc:
        raise UserError(f"cannot reach {base}: {exc}") from None
    if as_json and result.ended_by != "error":
        body = result.outcome or {
            "call_sid": result.call_sid,
            "route": None,
            "transfer": None,
            "appointment": None,
            "opted_out": False,
            "message_taken": False,
            "callback_queued": False,
            "turns": result.turns,
        }
        click.echo(json.dumps(body, indent=2))
    elif result.ended_by != "error":
        click.echo(transcript_text(result))
    if result.ended_by == "error":
        if any(code == 0 for _, code in result.http_errors):
            raise UserError(f"cannot reach {base} (is the server running?)")
        failed = result.http_errors[0] if result.http_errors else ("the server", "something unexpected")
        hint = " (the auth token differs from the server's)" if failed[1] == 403 else ""
        raise UserError(f"the call failed: {failed[0]} answered HTTP {failed[1]}{hint}")
