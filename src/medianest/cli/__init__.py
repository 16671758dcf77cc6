"""The ``medianest`` command: servers and host administration here, client commands from
``medianest.client.cli``. This module is the composition root, so it may import every service."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from medianest.cli.services import DATABASE_SERVICES, SERVICES, ServiceName

app = typer.Typer(
    name="medianest",
    help="MediaNest: self-hosted media library backend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    service: ServiceName,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: the service's own)")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run one service (authentication, media_store, inference, or web: the browser app)."""
    from medianest.cli.services import serve_service

    serve_service(service, host, port or SERVICES[service].port, workers)


@app.command()
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


for _mod in (
    "medianest.cli.up",
    "medianest.cli.users",
    "medianest.cli.worker",
    "medianest.client.cli",
    "medianest.cli.backup",  # after the client: its `restore` also serves `restore ID VERSION`
):
    _register_optional(_mod)


def main() -> None:
    app()
