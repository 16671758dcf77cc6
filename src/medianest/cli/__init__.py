"""The ``medianest`` command: servers and host administration here, client commands from
``medianest.client.cli``. This module is the composition root, so it may import every service.

A client-only install (``pip install medianest``, no extras) has the client commands; the server
commands are still listed and say which extra to install.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Annotated

import typer

from medianest.cli.services import DATABASE_SERVICES, SERVICES, ServiceName

app = typer.Typer(
    name="medianest",
    help="MediaNest: self-hosted media library backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


SERVER_EXTRA = "pip install 'medianest[server]'"
SERVER_COMMANDS = {
    "serve": "Run one service (needs the server extra).",
    "migrate": "Bring the databases to the latest schema (needs the server extra).",
    "up": "Start every service (needs the server extra).",
    "user": "Manage users on this host (needs the server extra).",
    "worker": "Run an inference worker (needs the server and inference extras).",
}


def server_installed() -> bool:
    """True when the server extra's packages (FastAPI, SQLAlchemy, ...) can be imported."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("fastapi", "sqlalchemy", "pydantic_settings", "uvicorn")
    )


def _needs_server(name: str, help_text: str) -> None:
    def command() -> None:
        typer.echo(f"'medianest {name}' needs the server parts: {SERVER_EXTRA}", err=True)
        raise typer.Exit(2)

    app.command(
        name=name,
        help=help_text,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(command)


def serve(
    service: ServiceName,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: the service's own)")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run one service (authentication, media_store, inference, or web: the browser app)."""
    from medianest.cli.services import serve_service

    serve_service(service, host, port or SERVICES[service].port, workers)


def migrate(
    service: Annotated[ServiceName | None, typer.Argument(help="Only this service")] = None,
) -> None:
    """Bring the databases to the latest schema (services also do this at start)."""
    for name in [service] if service else DATABASE_SERVICES:
        if name not in DATABASE_SERVICES:
            typer.echo(f"{name.value}: has no database")
            continue
        module = importlib.import_module(f"medianest.{name.value}.db")
        module.migrate_from_env()
        typer.echo(f"{name.value}: database at head")


def _register_optional(module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:  # a part not built yet, or an extra not installed
        if exc.name and exc.name.startswith("medianest"):
            return
        raise
    module.register(app)


if server_installed():
    app.command()(serve)
    app.command()(migrate)
    for _mod in ("medianest.cli.up", "medianest.cli.users", "medianest.cli.worker"):
        _register_optional(_mod)
else:
    for _name, _help in SERVER_COMMANDS.items():
        _needs_server(_name, _help)
_register_optional("medianest.client.cli")
if server_installed():  # after the client: its `restore` also serves `restore ID VERSION`
    _register_optional("medianest.cli.backup")


def main() -> None:
    app()
