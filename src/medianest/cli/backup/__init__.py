"""``medianest backup`` and ``medianest restore`` (host administration: they read the data dir
and the databases directly, so they run on the host of the installation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def backup(
    dest: Annotated[Path, typer.Argument(help="Backup folder (created; reused incrementally)")],
) -> None:
    """Back up a running installation: databases, keys, settings and media files."""
    from medianest.cli.backup.backup import progress_bar, run_backup
    from medianest.cli.backup.databases import DatabaseError
    from medianest.cli.backup.layout import from_environment

    console = Console(stderr=True)
    try:
        with progress_bar() as progress:
            result = run_backup(from_environment(), dest.resolve(), progress)
    except DatabaseError as exc:
        console.print(f"[red]backup failed:[/] {exc}")
        raise typer.Exit(1) from exc
    stats = result.manifest.stats
    typer.echo(
        f"backup complete in {dest}: {stats['media_files']} media files "
        f"({stats['media_bytes']} bytes), {result.copied_files} copied "
        f"({result.copied_bytes} bytes), {result.skipped_files} already there; "
        f"{len(result.manifest.databases)} databases, {len(result.manifest.config)} key/setting "
        f"files; vectors: {result.manifest.vectors.get('mode')}"
    )
    if result.vanished:
        typer.echo(f"{len(result.vanished)} file(s) were deleted while copying (not referenced)")


def restore(
    src: Annotated[str, typer.Argument(help="A backup folder (or an entity id, see below)")],
    version: Annotated[
        int | None, typer.Argument(help="With an entity id: the version to bring back", min=1)
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace the target's data")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Version restore: JSON output")] = False,
) -> None:
    """`restore SRC`: restore a STOPPED installation from a backup, verifying every file first.
    `restore ENTITY_ID VERSION`: make an old version of an entity current again."""
    if version is not None:
        from medianest.client._cli_store import restore as restore_version

        if not src.isdigit():
            raise typer.BadParameter("with a VERSION, the first argument is an entity id")
        restore_version(int(src), version, json_out)
        return
    _restore_backup(Path(src), force)


def _restore_backup(src: Path, force: bool) -> None:
    from medianest.cli.backup.backup import progress_bar
    from medianest.cli.backup.databases import DatabaseError
    from medianest.cli.backup.layout import from_environment
    from medianest.cli.backup.restore import RestoreRefused, run_restore

    console = Console(stderr=True)
    try:
        with progress_bar() as progress:
            result = run_restore(from_environment(), src.resolve(), force=force, progress=progress)
    except RestoreRefused as exc:
        console.print(f"[red]restore refused:[/] {exc}")
        for problem in exc.problems:
            console.print(f"  [red]CORRUPTED[/] {problem}")
        raise typer.Exit(1) from exc
    except DatabaseError as exc:
        console.print(f"[red]restore failed:[/] {exc}")
        raise typer.Exit(1) from exc
    typer.echo(
        f"restore verified and complete: {result.files} files ({result.bytes} media bytes), "
        f"{len(result.manifest.databases)} databases, backup of {result.manifest.created_at}"
    )
    if result.vector_jobs:
        typer.echo(f"vectors: {result.vector_jobs} embedding jobs queued to rebuild them")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
