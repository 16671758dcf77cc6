"""``medianest api-key``: create, list and revoke API keys (the caller's, or a user's as admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from medianest.client._cli_common import (
    EXIT_CODES_HELP,
    handled,
    open_client,
    out,
    print_json,
    table,
)

app = typer.Typer(help="API keys for scripts and apps (no password needed).", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
UserOpt = Annotated[int | None, typer.Option("--user", help="Another user's keys (admin)")]


@app.command("create", epilog=EXIT_CODES_HELP)
def create(
    name: Annotated[str, typer.Argument(help="What the key is for")],
    permission: Annotated[
        list[str], typer.Option("--permission", "-p", help="Grant (repeatable; yours only)")
    ],
    ttl_days: Annotated[float | None, typer.Option(help="Expire after this many days")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May use admin routes")] = False,
    json_out: Json = False,
) -> None:
    """Create a key and print it once (store it safely: it cannot be shown again)."""
    ttl_s = round(ttl_days * 86_400) if ttl_days is not None else None
    with handled(), open_client() as client:
        key = client.create_api_key(name, permission, ttl_s=ttl_s, is_admin=admin)
    if json_out:
        return print_json(key)
    out.print(f"API key {key.id} ({key.name}): {', '.join(key.permissions) or 'admin'}")
    out.print(key.key, highlight=False)
    out.print("shown only now: use it as MEDIANEST_API_KEY or `medianest login --api-key`")


@app.command("list", epilog=EXIT_CODES_HELP)
def list_keys(user: UserOpt = None, json_out: Json = False) -> None:
    """List keys with their scopes, expiry and last use (never the secrets)."""
    with handled(), open_client() as client:
        keys = client.list_api_keys(user)
    if json_out:
        return print_json(keys)
    rows = [
        [k.id, k.name, k.prefix + "…", " ".join(k.permissions), k.expires_at, k.last_used_at]
        for k in keys
    ]
    table(("id", "name", "key", "permissions", "expires", "last used"), rows)


@app.command("revoke", epilog=EXIT_CODES_HELP)
def revoke(key_id: int, user: UserOpt = None, json_out: Json = False) -> None:
    """Revoke a key (services stop accepting it within their key cache time, 60 s)."""
    with handled(), open_client() as client:
        client.revoke_api_key(key_id, user)
    if json_out:
        return print_json({"revoked": key_id})
    out.print(f"revoked API key {key_id}")
