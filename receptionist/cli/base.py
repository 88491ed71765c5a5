"""The command group and what every command shares: settings read once, services built on first use, user errors as one line."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

import click

from receptionist.config.settings import DataFolderError, Settings, load_settings

if TYPE_CHECKING:
    from receptionist.runtime.services import Services


class UserError(click.ClickException):
    """A one-line message, exit status 1, never a traceback."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"receptionist: {self.message}", err=True)


def services_for(ctx: click.Context) -> Services:
    """The services, built once per command on first use (a command that needs none starts no Redis).

    Without `REDIS_URL`, a command that had to start the embedded Redis stops it again when it ends (its data
    is saved in the data folder, so the next command or `receptionist up` carries on from it); one that
    found it running (started by `up` or `redis start`) leaves it running."""
    from sqlalchemy.exc import SQLAlchemyError

    from receptionist.config.practice import PracticeFileError
    from receptionist.runtime.embedded_redis import EmbeddedRedis, EmbeddedRedisError
    from receptionist.runtime.services import build_services

    settings: Settings = ctx.obj["settings"]
    if "services" not in ctx.obj:
        embedded = None if settings.redis_url else EmbeddedRedis(settings.home)
        if embedded is not None and embedded.url is None:
            ctx.call_on_close(embedded.stop)  # registered first: runs after the services have closed
        try:
            ctx.obj["services"] = build_services(settings)
        except (PracticeFileError, EmbeddedRedisError) as exc:
            raise UserError(str(exc)) from None
        except SQLAlchemyError as exc:  # a dead database is a user-facing condition, not a crash
            raise UserError(
                f"cannot open the store at {_safe_url(settings.store_url)}: {str(exc).splitlines()[0]}"
            ) from None
        ctx.call_on_close(ctx.obj["services"].close)
    services: Services = ctx.obj["services"]
    return services


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
    except DataFolderError as exc:  # wherever the data folder is first used: one line, never a traceback
        click.echo(f"receptionist: {exc}", err=True)
        sys.exit(1)


@click.group()
@click.version_option(package_name="receptionist")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """AI phone receptionist for medical and dental practices."""
    from pydantic import ValidationError

    ctx.ensure_object(dict)
    try:
        ctx.obj["settings"] = load_settings()
    except ValidationError as exc:  # a bad or weak setting: one line naming it, before anything starts
        first = exc.errors(include_url=False)[0]
        raise UserError(f"{'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}") from None
