"""Commands that run the product's processes: `up`, `worker`, and the embedded `redis`."""

from __future__ import annotations

import click

from receptionist.cli.base import UserError, cli, services_for
from receptionist.config.settings import Settings


@cli.command()
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run a job worker (with the scheduler) on the configured Redis."""
    from receptionist.runtime.worker import run_worker

    services = services_for(ctx)
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
