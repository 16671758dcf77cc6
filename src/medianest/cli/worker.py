"""``medianest worker``: run inference worker processes (HTTP only, no database)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="worker")(worker)


def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default: CPU count)")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Jobs claimed at a time")] = None,
    inference_url: Annotated[str | None, typer.Option(help="Inference API URL")] = None,
    store_url: Annotated[str | None, typer.Option(help="Media store URL")] = None,
    task_type: Annotated[
        list[str] | None, typer.Option(help="Only these task types (repeatable)")
    ] = None,
) -> None:
    """Run inference workers: claim jobs over HTTP, run the models, report results."""
    import os

    from medianest.inference.config import WorkerSettings
    from medianest.inference.worker.main import run_workers

    overrides: dict[str, object] = {}
    if inference_url:
        overrides["inference_url"] = inference_url
    if store_url:
        overrides["media_store_url"] = store_url
    if batch:
        overrides["batch"] = batch
    overrides["concurrency"] = (
        concurrency or os.environ.get("MEDIANEST_WORKER_CONCURRENCY") or (os.cpu_count() or 1)
    )
    settings = WorkerSettings(**overrides)  # type: ignore[arg-type]
    try:
        code = run_workers(settings, task_type or None)
    except ValueError as exc:  # e.g. an unknown task type
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)
