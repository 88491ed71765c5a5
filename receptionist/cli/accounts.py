"""Commands for who may use the product: staff `users` for the dashboard, API `keys` for integrations."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click
import redis

from receptionist.cli.base import UserError, cli, services_for


@cli.group()
def keys() -> None:
    """API keys for the integration API (/api/v1): one per integration."""


@keys.command(name="add")
@click.argument("name")
@click.option("--webhook-url", default="", help="Where outcomes and callbacks are sent for this integration.")
@click.option("--signed", is_flag=True, help="Require every request to carry an X-Signature (HMAC).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="What the key may do (repeat for several): booking, intake, pms, fhir, lookup, stats. "
    "Default: booking, intake, pms, fhir.",
)
@click.pass_context
def keys_add(ctx: click.Context, name: str, webhook_url: str, signed: bool, scopes: tuple[str, ...]) -> None:
    """Make a key; the key and its signing secret are shown this once (only a hash of the key is kept)."""
    from receptionist.integrations.apikeys import DEFAULT_SCOPES, UnknownScope, check_scopes, create_key

    if not name.strip() or len(name) > 100:
        raise UserError("NAME: give the integration a name of 1 to 100 characters")
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise UserError(f"--webhook-url: {webhook_url!r} is not an http(s) URL")
    try:
        chosen = check_scopes(s for value in scopes for s in value.split(",")) or DEFAULT_SCOPES
    except UnknownScope as exc:
        raise UserError(f"--scope: {exc}") from None
    services = services_for(ctx)
    key = create_key(
        services.store,
        name.strip(),
        sealer=services.sealer,
        webhook_url=webhook_url,
        require_signature=signed,
        scopes=chosen,
    )
    click.echo(f"id:             {key.id}")
    click.echo(f"name:           {key.name}")
    click.echo(f"scopes:         {' '.join(key.scopes)}")
    click.echo(f"api key:        {key.token}")
    click.echo(f"signing secret: {key.signing_secret}")
    click.echo("Keep both now: they are not shown again.")


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON (never their secrets).")
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """Every key: id, name, signed or not, webhook URL, created, revoked."""
    from receptionist.integrations.apikeys import list_keys

    rows: list[dict[str, Any]] = [
        {
            "id": k.id,
            "name": k.name,
            "signed": k.require_signature,
            "scopes": k.scopes.split(),
            "webhook_url": k.webhook_url,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in list_keys(services_for(ctx).store)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no API keys (make one with `receptionist keys add NAME`)")
    for r in rows:
        state = f"revoked {r['revoked_at'][:16]}" if r["revoked_at"] else "live"
        extra = (
            f"  scopes={','.join(r['scopes'])}"
            + (" signed" if r["signed"] else "")
            + (f" webhook={r['webhook_url']}" if r["webhook_url"] else "")
        )
        click.echo(f"{r['id']}  {r['name']}  {state}  created {r['created_at'][:16]}{extra}")


@keys.command(name="revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Stop a key working, at once."""
    from receptionist.integrations.apikeys import revoke_key

    services = services_for(ctx)
    if not revoke_key(services.store, key_id, services.now()):
        raise UserError(f"KEY_ID: no live key {key_id!r} (see `receptionist keys list`)")
    click.echo(f"revoked {key_id}")


@cli.group()
def users() -> None:
    """Staff accounts for the dashboard."""


def _password(password_stdin: bool) -> str:
    from receptionist.dashboard.accounts import check_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return check_password(password)


ROLE = click.Choice(["front_desk", "manager"])


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """An account error (a bad name or password, no such user) as the CLI's one-line user error."""
    from receptionist.dashboard.accounts import AccountError

    try:
        yield
    except AccountError as exc:
        raise UserError(str(exc)) from None


@users.command(name="add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option(
    "--role",
    type=ROLE,
    default=None,
    help="front_desk (Today, Patients, Calls, Try it) or manager (also Campaigns, Results, the audit log). "
    "Default: manager for the first account, front_desk after.",
)
@click.pass_context
def users_add(ctx: click.Context, name: str, password_stdin: bool, role: str | None) -> None:
    """Make a staff account; asks for the password (twice), or reads one line from stdin."""
    from receptionist.dashboard.accounts import add_user, check_username, list_users

    store = services_for(ctx).store
    with _user_errors():
        check_username(name)
        password = _password(password_stdin)
        role = role or ("front_desk" if list_users(store) else "manager")
        add_user(store, name, password, role=role)
    click.echo(f"added {name.strip()} ({role}): sign in at {ctx.obj['settings'].dashboard_url}/login")


@users.command(name="list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every staff account, with its role, its last sign-in and whether it is locked now."""
    from receptionist.dashboard.accounts import list_users, locked_until

    services = services_for(ctx)
    rows = list_users(services.store)
    if not rows:
        click.echo("no staff accounts (make one with `receptionist users add NAME`)")
    now = services.now()
    for u in rows:
        try:
            locked = locked_until(services.queue_redis, u.username, now) is not None
        except (OSError, redis.RedisError):
            locked = False  # without Redis no lock-out is known
        last = u.last_sign_in_at.isoformat()[:16] if u.last_sign_in_at else "never"
        click.echo(
            f"{u.username}  {u.role}  created {u.created_at.isoformat()[:16]}  last sign-in {last}"
            + ("  LOCKED" if locked else "")
        )


@users.command(name="passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.pass_context
def users_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password; every session of the account ends at once."""
    from receptionist.dashboard.accounts import set_password

    services = services_for(ctx)
    with _user_errors():
        ended = set_password(services.store, name, _password(password_stdin), services.now())
    click.echo(f"new password for {name}; {ended} session(s) signed out")


@users.command(name="unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx: click.Context, name: str) -> None:
    """Clear an account's failed sign-ins, so a locked account can sign in again now."""
    from receptionist.dashboard.accounts import unlock

    services = services_for(ctx)
    with _user_errors():
        unlock(services.store, services.queue_redis, name)
    click.echo(f"unlocked {name}")


@users.command(name="role")
@click.argument("name")
@click.argument("role", type=ROLE)
@click.pass_context
def users_role(ctx: click.Context, name: str, role: str) -> None:
    """Make an account front desk or manager (takes effect at its next request)."""
    from receptionist.dashboard.accounts import set_role

    with _user_errors():
        set_role(services_for(ctx).store, name, role)
    click.echo(f"{name} is now {role}")


@users.command(name="remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Delete a staff account; its sessions end at once."""
    from receptionist.dashboard.accounts import remove_user

    with _user_errors():
        remove_user(services_for(ctx).store, name)
    click.echo(f"removed {name}")
