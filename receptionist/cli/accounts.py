"""Commands for who may use the product: staff `users` for the dashboard, API `keys` for integrations."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from receptionist.cli.base import UserError, cli, services_for


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
    key = create_key(services_for(ctx).store, name.strip(), webhook_url=webhook_url, require_signature=signed)
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

    rows: list[dict[str, Any]] = [
        {
            "id": k.id,
            "name": k.name,
            "signed": k.require_signature,
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

    services = services_for(ctx)
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
        add_user(services_for(ctx).store, name, password)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"added {name.strip()}: sign in at {ctx.obj['settings'].base_url}/login")


@users.command(name="list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every staff account, with its last sign-in and whether it is locked now."""
    from receptionist.dashboard.accounts import list_users

    rows = list_users(services_for(ctx).store)
    if not rows:
        click.echo("no staff accounts (make one with `receptionist users add NAME`)")
    now = services_for(ctx).now()
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
        remove_user(services_for(ctx).store, name)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"removed {name}")
