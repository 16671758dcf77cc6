"""``medianest user ...``: manage accounts directly in the auth database (``AUTH_DATABASE_URL``).

Works without the service running; the database is migrated first. A password is taken from
``--password``, asked for with ``--prompt`` (not visible in the process list), or generated and
printed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError

from medianest.authentication.bootstrap import open_database
from medianest.authentication.config import Settings
from medianest.authentication.context import passwords_for
from medianest.authentication.passwords import generate_password
from medianest.authentication.schemas import PasswordReset, UserCreate
from medianest.authentication.service import UserService
from medianest.common.errors import MediaNestError
from medianest.common.permissions import WILDCARD, Permission, check_names

user_app = typer.Typer(help="Manage users of the authentication service.", no_args_is_help=True)

PasswordOpt = Annotated[str | None, typer.Option("--password", help="The new password")]
PromptOpt = Annotated[bool, typer.Option("--prompt", help="Ask for the password")]
PermsArg = Annotated[list[str], typer.Argument(help="Permission names")]


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


@contextmanager
def _users() -> Iterator[UserService]:
    """A user service on one committed transaction; domain errors become exit code 1."""
    settings = Settings()
    try:
        with open_database(settings) as db, db.sessions.begin() as session:
            yield UserService(session, passwords_for(settings))
    except MediaNestError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        typer.echo(f"error: {_first_error(exc)}", err=True)
        raise typer.Exit(2) from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _permissions(names: list[str]) -> list[str]:
    """Any well-formed name (the seed's rule); the known ones are listed on a typo's error."""
    try:
        return check_names(names)
    except ValueError as exc:
        known = ", ".join([*(p.value for p in Permission), WILDCARD])
        raise typer.BadParameter(f"{exc} (known: {known})") from exc


def _password(password: str | None, prompt: bool) -> tuple[str, bool]:
    """The password to set, and whether it was generated (so it must be shown once)."""
    if password is not None:
        return password, False
    if prompt:
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False
    return generate_password(), True


@user_app.command("create")
def create(
    username: str,
    password: PasswordOpt = None,
    prompt: PromptOpt = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator")] = False,
    permission: Annotated[
        list[str] | None, typer.Option("--permission", "-p", help="Grant (repeatable)")
    ] = None,
) -> None:
    """Create a user."""
    perms = _permissions(permission or [])
    secret, generated = _password(password, prompt)
    with _users() as users:
        data = UserCreate(username=username, password=secret, is_admin=admin, permissions=perms)
        user = users.create(data)
        typer.echo(f"created user {user.username} (id {user.id})")
    if generated:
        typer.echo(f"generated password: {secret}")


@user_app.command("list")
def list_users() -> None:
    """List users."""
    with _users() as users:
        for u in users.page(0, 1_000_000):
            flags = ",".join(
                f for f, on in (("admin", u.is_admin), ("inactive", not u.is_active)) if on
            )
            typer.echo(f"{u.id}\t{u.username}\t{flags or '-'}\t{' '.join(u.permissions) or '-'}")


@user_app.command("set-password")
def set_password(username: str, password: PasswordOpt = None, prompt: PromptOpt = False) -> None:
    """Set a user's password (ends their sessions)."""
    secret, generated = _password(password, prompt)
    with _users() as users:
        PasswordReset(new_password=secret)  # same length rules as the API
        users.set_password(users.get_by_username(username), secret)
        typer.echo(f"password changed for {username}")
    if generated:
        typer.echo(f"generated password: {secret}")


@user_app.command("grant")
def grant(username: str, permissions: PermsArg) -> None:
    """Add permissions to a user."""
    wanted = _permissions(permissions)
    with _users() as users:
        user = users.get_by_username(username)
        users.set_permissions(user, [*user.permissions, *wanted])
        typer.echo(f"{username}: {' '.join(user.permissions) or '-'}")


@user_app.command("revoke")
def revoke(username: str, permissions: PermsArg) -> None:
    """Remove permissions from a user."""
    unwanted = set(_permissions(permissions))
    with _users() as users:
        user = users.get_by_username(username)
        users.set_permissions(user, [p for p in user.permissions if p not in unwanted])
        typer.echo(f"{username}: {' '.join(user.permissions) or '-'}")
