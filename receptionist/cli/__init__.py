"""The `receptionist` command line: one console script, subcommands as the contract lists them."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from receptionist.clock import clock_from
from receptionist.config.settings import Settings, load_settings


class UserError(click.ClickException):
    """A one-line message, exit status 1, never a traceback."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"receptionist: {self.message}", err=True)


def _services(ctx: click.Context):
    from sqlalchemy.exc import SQLAlchemyError

    from receptionist.config.practice import PracticeFileError
    from receptionist.runtime.embedded_redis import EmbeddedRedisError
    from receptionist.runtime.services import build_services

    settings: Settings = ctx.obj["settings"]
    if "services" not in ctx.obj:
        try:
            ctx.obj["services"] = build_services(settings)
        except (PracticeFileError, EmbeddedRedisError) as exc:
            raise UserError(str(exc)) from None
        except SQLAlchemyError as exc:  # a dead database is a user-facing condition, not a crash
            raise UserError(
                f"cannot open the store at {_safe_url(settings.store_url)}: {str(exc).splitlines()[0]}"
            ) from None
        ctx.call_on_close(ctx.obj["services"].close)
    return ctx.obj["services"]


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors (bad options included) are one line and exit status 1."""
    try:
        cli.main(args=argv, prog_name="receptionist", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"receptionist: {exc.format_message()}{hint}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("receptionist: aborted", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


@click.group()
@click.version_option(package_name="receptionist")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """AI phone receptionist for medical and dental practices."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings()


@cli.command()
@click.option("--patients", default=2000, show_default=True, type=click.IntRange(2, 5_000_000))
@click.option("--years", default=6.0, show_default=True, type=click.FloatRange(1, 30))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Add the demo patients even if the store holds patients.")
@click.pass_context
def demo(ctx: click.Context, patients: int, years: float, seed: int, force: bool) -> None:
    """Write a synthetic practice (patients, visits) into the store."""
    from receptionist.simulation.demo import StoreNotEmpty, load_demo

    services = _services(ctx)
    try:
        report = load_demo(
            services.store,
            services.settings.home,
            patients=patients,
            years=years,
            seed=seed,
            as_of=services.practice.today(services.now()),
            force=force,
            practice_file=services.settings.practice_file,
            progress=sys.stderr.isatty(),
            cache=services.publish_cache,
        )
    except StoreNotEmpty as exc:
        raise UserError(str(exc)) from None
    click.echo(report.patients.summary())
    click.echo(report.visits.summary())
    click.echo(f"demo exports kept in {report.folder}; next: receptionist score")


@cli.group(name="import")
def import_() -> None:
    """Load practice-management exports (CSV) and FHIR bundles (JSON)."""


def _run_import(ctx: click.Context, kind: str, path: Path, skip_invalid: bool) -> None:
    from receptionist.patients.cache import CacheUnavailable
    from receptionist.patients.csvfiles import ImportFileError
    from receptionist.patients.importer import import_patients, import_visits

    services = _services(ctx)
    today = services.practice.today(services.now())
    try:
        if kind == "patients":
            report = import_patients(
                services.store,
                path,
                today=today,
                skip_invalid=skip_invalid,
                progress=sys.stderr.isatty(),
                cache=services.publish_cache,
            )
        else:
            report = import_visits(
                services.store, path, today=today, skip_invalid=skip_invalid, progress=sys.stderr.isatty()
            )
            if report.imported and report.added:
                services.outcomes.attribute()  # new visits may be returns a contact earned
    except ImportFileError as exc:
        raise UserError(str(exc)) from None
    except CacheUnavailable as exc:
        raise UserError(
            f"nothing imported: the tier cache (Redis) could not be told that phones change ({exc})"
        ) from None
    for error in report.invalid:
        click.echo(error.describe(path.name), err=True)
    if not report.imported:
        raise UserError(report.summary())
    click.echo(report.summary())


_skip = click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad ones.")
_file = click.argument("file", type=click.Path(path_type=Path, dir_okay=False))


@import_.command(name="fhir")
@_file
@click.option("--skip-invalid", is_flag=True, help="Import the valid resources and report the invalid ones.")
@click.pass_context
def fhir_cmd(ctx: click.Context, file: Path, skip_invalid: bool) -> None:
    """A FHIR R4 Bundle (JSON): patients, encounters with their claims, appointments."""
    from receptionist.integrations.errors import ApiError
    from receptionist.integrations.fhir import import_bundle

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{file.name}: not valid JSON ({exc})") from None
    services = _services(ctx)
    today = services.practice.today(services.now())
    try:
        report = import_bundle(services, data, today=today, skip_invalid=skip_invalid)
    except ApiError as exc:
        raise UserError(f"{file.name}: {exc.message}") from None
    for bad in report.invalid:
        where = f"{bad['resourceType']}/{bad['id']}" if bad["id"] else f"entry {bad['entry']}"
        click.echo(f"{file.name}: {where}: {bad['error']}", err=True)
    if not report.imported:
        raise UserError(report.summary(file.name))
    click.echo(report.summary(file.name))


@cli.group()
def keys() -> None:
    """API keys for the integration API (/api/v1): one per integration."""


@keys.command(name="add")
@click.argument("name")
@click.option("--webhook-url", default="", help="Where outcomes and callbacks are sent for this integration.")
@click.option("--signed", is_flag=True, help="Require every request to carry an X-Signature (HMAC).")
@click.pass_context
def keys_add(ctx: click.Context, name: str, webhook_url: str, signed: bool) -> None:
    """Make a key; the key and its signing secret are shown this once (only a hash of the key is kept)."""
    from receptionist.integrations.apikeys import create_key

    if not name.strip() or len(name) > 100:
        raise UserError("NAME: give the integration a name of 1 to 100 characters")
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise UserError(f"--webhook-url: {webhook_url!r} is not an http(s) URL")
    key = create_key(_services(ctx).store, name.strip(), webhook_url=webhook_url, require_signature=signed)
    click.echo(f"id:             {key.id}")
    click.echo(f"name:           {key.name}")
    click.echo(f"api key:        {key.token}")
    click.echo(f"signing secret: {key.signing_secret}")
    click.echo("Keep both now: they are not shown again.")


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """Every key: id, name, signed or not, webhook URL, created, revoked."""
    from receptionist.integrations.apikeys import list_keys

    rows = [
        {
            "id": k.id,
            "name": k.name,
            "signed": k.require_signature,
            "webhook_url": k.webhook_url,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in list_keys(_services(ctx).store)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no API keys (make one with `receptionist keys add NAME`)")
    for r in rows:
        state = f"revoked {r['revoked_at'][:16]}" if r["revoked_at"] else "live"
        extra = (" signed" if r["signed"] else "") + (
            f" webhook={r['webhook_url']}" if r["webhook_url"] else ""
        )
        click.echo(f"{r['id']}  {r['name']}  {state}  created {r['created_at'][:16]}{extra}")


@keys.command(name="revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Stop a key working, at once."""
    from receptionist.integrations.apikeys import revoke_key

    services = _services(ctx)
    if not revoke_key(services.store, key_id, services.now()):
        raise UserError(f"KEY_ID: no live key {key_id!r} (see `receptionist keys list`)")
    click.echo(f"revoked {key_id}")


@cli.group()
def users() -> None:
    """Staff accounts for the dashboard."""


@users.command(name="add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_context
def users_add(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Make a staff account; asks for the password (twice), or reads one line from stdin."""
    from receptionist.dashboard.accounts import AccountError, add_user, check_password, check_username

    try:
        check_username(name)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        check_password(password)
        add_user(_services(ctx).store, name, password)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"added {name.strip()}: sign in at {ctx.obj['settings'].base_url}/login")


@users.command(name="list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every staff account, with its last sign-in and whether it is locked now."""
    from receptionist.dashboard.accounts import list_users

    rows = list_users(_services(ctx).store)
    if not rows:
        click.echo("no staff accounts (make one with `receptionist users add NAME`)")
    now = _services(ctx).now()
    for u in rows:
        locked = u.locked_until and u.locked_until.replace(tzinfo=u.locked_until.tzinfo or dt.UTC) > now
        last = u.last_sign_in_at.isoformat()[:16] if u.last_sign_in_at else "never"
        click.echo(
            f"{u.username}  created {u.created_at.isoformat()[:16]}  last sign-in {last}"
            + ("  LOCKED" if locked else "")
        )


@users.command(name="remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Delete a staff account (its sessions end at their next request)."""
    from receptionist.dashboard.accounts import AccountError, remove_user

    try:
        remove_user(_services(ctx).store, name)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"removed {name}")


@import_.command()
@_file
@_skip
@click.pass_context
def patients(ctx: click.Context, file: Path, skip_invalid: bool) -> None:
    """Import patients.csv."""
    _run_import(ctx, "patients", file, skip_invalid)


@import_.command()
@_file
@_skip
@click.pass_context
def visits(ctx: click.Context, file: Path, skip_invalid: bool) -> None:
    """Import visits.csv."""
    _run_import(ctx, "visits", file, skip_invalid)


@cli.command()
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Score as of this day (default today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def score(ctx: click.Context, as_of: dt.datetime | None, as_json: bool) -> None:
    """Score every patient, store the run and publish tiers to the cache."""
    import redis

    from receptionist.patients.scorer import NothingToScore, run_scoring

    services = _services(ctx)
    try:
        day = as_of.date() if as_of else services.practice.today(services.now())
        summary = run_scoring(services.store, services.publish_cache, services.practice, day)
    except NothingToScore as exc:
        raise UserError(str(exc)) from None
    except (redis.RedisError, OSError) as exc:
        raise UserError(
            f"scores stored, but the tier cache could not be published ({exc}); "
            "run `receptionist score` again when Redis is back"
        ) from None
    if as_json:
        click.echo(json.dumps(summary.as_json(), indent=2))
        return
    t = summary.tiers
    click.echo(
        f"run {summary.run_id} as of {summary.as_of}: {summary.patients} patients, "
        f"high {t['high']}, mid {t['mid']}, low {t['low']}, lapsed {summary.lapsed}; "
        f"{summary.published} phone numbers published in {summary.seconds:.1f} s"
    )


@cli.group()
def export() -> None:
    """Write data out as CSV."""


@export.command(name="scores")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def export_scores_cmd(ctx: click.Context, out: Path) -> None:
    """The latest score run, one row a patient."""
    from receptionist.patients.export import NoScoreRun, export_scores

    services = _services(ctx)
    if not out.parent.exists():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    try:
        count = export_scores(services.store, out)
    except NoScoreRun as exc:
        raise UserError(str(exc)) from None
    click.echo(f"{count} patients written to {out}")


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
        StaffScript,
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
        transport = HttpTransport()
        clock = clock_from(settings.receptionist_clock)
    else:
        from receptionist.web import create_app

        services = _services(ctx)
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
            from_=caller, to=called, says=list(says), digits=list(digits), staff=StaffScript(staff)
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


@cli.command()
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run a job worker (with the scheduler) on the configured Redis."""
    from receptionist.runtime.worker import run_worker

    services = _services(ctx)
    run_worker(services, burst=burst)


@cli.group()
def redis() -> None:
    """The embedded Redis server (only when REDIS_URL is not set)."""


@redis.command(name="url")
@click.pass_context
def redis_url_cmd(ctx: click.Context) -> None:
    """Print the Redis URL in use (starting the embedded server when REDIS_URL is not set)."""
    from receptionist.runtime.embedded_redis import EmbeddedRedisError, resolve_redis_url

    settings: Settings = ctx.obj["settings"]
    try:
        click.echo(resolve_redis_url(settings.redis_url, settings.home))
    except EmbeddedRedisError as exc:
        raise UserError(str(exc)) from None


@redis.command(name="stop")
@click.pass_context
def redis_stop(ctx: click.Context) -> None:
    """Stop the embedded Redis server, saving its data."""
    from receptionist.runtime.embedded_redis import EmbeddedRedis

    settings: Settings = ctx.obj["settings"]
    stopped = EmbeddedRedis(settings.home).stop()
    click.echo("embedded Redis stopped" if stopped else "embedded Redis was not running")


@cli.command()
@click.option("--port", type=int, default=None, help="Port of the web server (default $PORT or 8000).")
@click.option("--no-demo", is_flag=True, help="Do not load the demo practice into an empty store.")
@click.pass_context
def up(ctx: click.Context, port: int | None, no_demo: bool) -> None:
    """Run everything on embedded defaults: web server, worker, Redis, store (demo practice when empty)."""
    from receptionist.runtime.up import run_up

    run_up(ctx.obj["settings"], port=port, demo=not no_demo, fail=UserError)


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

    services = _services(ctx)
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

    for m in months:
        try:
            dt.datetime.strptime(m, "%Y-%m")
        except ValueError:
            raise UserError(f"--month: expected YYYY-MM, got {m!r}") from None
    services = _services(ctx)
    services.outcomes.attribute(as_of.date() if as_of else None)
    report = build_report(store_counts(services.store), services.practice.outreach, months or None)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(render(report))


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

    services = _services(ctx)
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


def _campaigns(ctx: click.Context):
    from receptionist.outreach.campaigns import Campaigns

    return Campaigns(_services(ctx))


@campaign.command(name="run")
@click.option("--json", "as_json", is_flag=True, help="Print what was started as JSON.")
@click.pass_context
def campaign_run(ctx: click.Context, as_json: bool) -> None:
    """Start a campaign from the current plan: one job per AI call, text or email; workers send them."""
    from receptionist.outreach.campaigns import CampaignError
    from receptionist.outreach.planner import build_plan
    from receptionist.patients.export import NoScoreRun

    services = _services(ctx)
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
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def campaign_status(ctx: click.Context, campaign_id: str | None, as_json: bool) -> None:
    """Progress of a campaign (default: the latest): attempts by channel and status, results, cost."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        body = _campaigns(ctx).status(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(
        f"campaign {body['campaign_id']} ({body['status']}), {body['pending']} still to send, "
        f"cost so far ${body['cost']:,.2f}"
    )
    for channel, by in sorted(body["attempts"].items()):
        click.echo(f"  {channel:<11}" + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    if body["results"]:
        click.echo("  results: " + ", ".join(f"{k} {v}" for k, v in sorted(body["results"].items())))


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
    from receptionist.outreach.campaigns import CampaignError

    try:
        cid, n = _campaigns(ctx).resume(campaign_id)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"campaign {cid} running; {n} paused attempts queued again")


@campaign.command(name="calls")
@click.argument("campaign_id", required=False)
@click.option("--json", "as_json", is_flag=True)
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
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Simulate on a practice file other than the demo practice.")
@click.pass_context
def campaign_simulate(ctx: click.Context, seed: int, force: bool) -> None:
    """Write a simulated campaign month (planned 35 days ago; nothing is sent) into the store, with outcomes
    drawn from known true rates and the returns as visits, for trying `stats` and the learning on the demo."""
    from receptionist.patients.export import NoScoreRun
    from receptionist.simulation.campaign import simulate_month

    services = _services(ctx)
    if services.practice.source != "demo practice" and not force:
        raise UserError("campaign simulate writes simulated visits: use it on the demo practice (or --force)")
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
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def campaign_export(ctx: click.Context, campaign_id: str | None, out: Path) -> None:
    """The general-campaign patients as CSV, for the practice's own mailing or newsletter tool."""
    from receptionist.outreach.campaigns import CampaignError

    try:
        n = _campaigns(ctx).export_general(campaign_id, out)
    except CampaignError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"wrote {n} patients to {out}")
