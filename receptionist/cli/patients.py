"""Commands on the practice's patients: `demo`, `import patients|visits|fhir`, `score`, `export scores`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from receptionist.cli.base import UserError, cli, services_for


@cli.command()
@click.option(
    "--patients",
    default=2000,
    show_default=True,
    type=click.IntRange(2, 5_000_000),
    help="How many patients.",
)
@click.option(
    "--years", default=6.0, show_default=True, type=click.FloatRange(1, 30), help="Years of visit history."
)
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the synthetic data.")
@click.option("--force", is_flag=True, help="Add the demo patients even if the store holds patients.")
@click.pass_context
def demo(ctx: click.Context, patients: int, years: float, seed: int, force: bool) -> None:
    """Write a synthetic practice (patients, visits) into the store."""
    from receptionist.simulation.demo import StoreNotEmpty, load_demo

    services = services_for(ctx)
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

    services = services_for(ctx)
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
    services = services_for(ctx)
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
    help="Score as of this day (default today). The run is published like any other: a past day replaces "
    "the live tiers (a warning says so); score again without --as-of to bring them back to today.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def score(ctx: click.Context, as_of: dt.datetime | None, as_json: bool) -> None:
    """Score every patient, store the run and publish tiers to the cache."""
    import redis

    from receptionist.patients.scorer import NothingToScore, run_scoring

    services = services_for(ctx)
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
    today = services.practice.today(services.now())
    if day < today:
        click.echo(
            f"warning: scored as of {day.isoformat()}, {(today - day).days} days ago, and published: the live "
            "tiers the phone line and campaigns use now come from that day; run `receptionist score` without "
            "--as-of to score as of today",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(summary.as_json(), indent=2))
        return
    t = summary.tiers
    click.echo(
        f"run {summary.run_id} as of {summary.as_of}: {summary.patients} patients, "
        f"high {t['high']}, mid {t['mid']}, low {t['low']}, lapsed {summary.lapsed}; "
        f"{summary.published} phone numbers published in {summary.seconds:.1f} s"
        + (f", {summary.deceased} deceased left out of outreach" if summary.deceased else "")
    )
    for note in summary.notes():
        click.echo(f"note: {note}")


@cli.group()
def export() -> None:
    """Write data out as CSV."""


@export.command(name="scores")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The CSV file to write."
)
@click.pass_context
def export_scores_cmd(ctx: click.Context, out: Path) -> None:
    """The latest score run, one row a patient."""
    from receptionist.patients.export import NoScoreRun, export_scores

    services = services_for(ctx)
    if not out.parent.exists():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    from receptionist.dashboard import audit

    try:
        count = export_scores(services.store, out)
    except NoScoreRun as exc:
        raise UserError(str(exc)) from None
    audit.record(
        services.store,
        audit.cli_actor(),
        "export",
        services.now(),
        target="export scores",
        detail=f"{count} patients",
    )
    click.echo(f"{count} patients written to {out}")
