"""``medianest admin``: the media store's storage report and integrity audit (admin only)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from medianest.client._cli_common import (
    EXIT_FAILED,
    fail,
    handled,
    open_client,
    out,
    print_json,
    size,
    table,
    when,
)
from medianest.client.errors import Conflict
from medianest.client.models import AuditRunRead

admin_app = typer.Typer(help="Media store administration (admin only).", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
ACTIVE = ("queued", "running")


@admin_app.command()
def storage(json_out: Json = False) -> None:
    """Bytes used by originals, trash, old versions, renditions, streams and temp files."""
    with handled(), open_client() as client:
        report = client.storage_report()
    if json_out:
        return print_json(report)
    parts = ("originals", "trash", "old_versions", "renditions", "streams", "unreferenced", "temp")
    rows = [
        [name, getattr(report, name).files, size(getattr(report, name).bytes)] for name in parts
    ]
    rows.append(["total", "", size(report.total_bytes)])
    table(("what", "files", "size"), rows)
    out.print(
        f"{report.entities} entities · {report.collections} collections · "
        f"{report.trashed_entities} in the trash",
        style="dim",
    )


@admin_app.command()
def audit(
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the audit to finish")] = False,
    latest: Annotated[bool, typer.Option("--latest", help="Show the latest audit only")] = False,
    json_out: Json = False,
) -> None:
    """Re-hash every stored file: missing, corrupt and orphaned files (exit 1 if any)."""
    with handled(), open_client() as client:
        if latest:
            run = client.get_audit()
        else:
            try:
                run = client.start_audit()
            except Conflict:  # one is running already: follow that one
                run = client.get_audit()
        while wait and run.status in ACTIVE:
            if not json_out:
                out.print(f"audit {run.id}: {run.status} {run.progress.fraction:.0%}", style="dim")
            time.sleep(1.0)
            run = client.get_audit(run.id)
    if json_out:
        print_json(run)
    else:
        _print(run)
    if run.status not in ACTIVE and (run.missing or run.corrupt):
        fail(f"audit {run.id}: {run.missing} missing, {run.corrupt} corrupt", EXIT_FAILED)


def _print(run: AuditRunRead) -> None:
    p = run.progress
    out.print(
        f"audit {run.id} ({run.trigger}) {run.status}: {p.files_checked}/{p.files_total} files, "
        f"{size(p.bytes_checked)}/{size(p.bytes_total)} · started {when(run.started_at)}"
    )
    out.print(f"missing {run.missing} · corrupt {run.corrupt} · orphans {run.orphans}")
    if run.error:
        out.print(f"error: {run.error}", style="red")
    if run.findings:
        rows = [
            [f.kind, f.path, size(f.size), ",".join(map(str, f.entity_ids))] for f in run.findings
        ]
        table(("kind", "path", "size", "entities"), rows)
