"""`receptionist sync opendental`: read the practice's own practice-management database into the store."""

from __future__ import annotations

import click

from receptionist.cli.base import UserError, cli, services_for


@cli.group()
def sync() -> None:
    """Read a practice-management system's own database (incremental; --full reads everything)."""


@sync.command(name="opendental")
@click.option(
    "--url",
    default=None,
    help="The Open Dental database (mysql+pymysql://user:password@host/opendental); "
    "default: database_url in the practice file's [opendental] table.",
)
@click.option("--full", is_flag=True, help="Read every row again, ignoring how far the last sync read.")
@click.pass_context
def opendental(ctx: click.Context, url: str | None, full: bool) -> None:
    """Patients, completed procedures (as visits) and opt-outs from Open Dental (MySQL/MariaDB)."""
    from receptionist.integrations.opendental import OpenDentalUnavailable, sync_opendental
    from receptionist.patients.cache import CacheUnavailable

    services = services_for(ctx)
    link = services.practice.opendental
    url = url or (link.database_url if link else "")
    if not url:
        raise UserError(
            "no Open Dental database: give --url, or database_url in the practice file's [opendental] table"
        )
    try:
        report = sync_opendental(
            services.store,
            url,
            today=services.practice.today(services.now()),
            full=full,
            clinics=link.clinics if link else {},
            cache=services.publish_cache,
        )
    except OpenDentalUnavailable as exc:
        raise UserError(f"nothing synced: Open Dental cannot be read: {exc}") from None
    except CacheUnavailable as exc:
        raise UserError(
            f"nothing synced: the tier cache (Redis) could not be told that phones change ({exc})"
        ) from None
    if report.visits["added"] or report.visits["updated"]:
        services.outcomes.attribute()  # new visits may be returns a contact earned
    click.echo(report.summary())
