"""CLI commands on the inference service: similar photos, faces, label search, jobs."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from medianest.client._cli_common import (
    EXIT_FAILED,
    handled,
    open_client,
    out,
    print_json,
    short_when,
    table,
)
from medianest.client._cli_store import ENTITY_COLUMNS, entity_rows
from medianest.client.errors import MediaNestError
from medianest.client.models import BBoxRead, JobRead, LabelRead
from medianest.client.sync import MediaNestClient

Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
TERMINAL = frozenset({"completed", "error", "cancelled"})


def similar(
    entity_id: Annotated[int, typer.Argument(help="Media id", min=1)],
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    min_score: Annotated[float | None, typer.Option(help="Cosine similarity, -1..1")] = None,
    json_out: Json = False,
) -> None:
    """Photos that look like this one (once it has been analysed)."""
    with handled(), open_client() as client:
        found = client.similar_images(entity_id, limit, min_score)
    if json_out:
        return print_json(found)
    rows = [[hit.media_store_id, f"{hit.score:.3f}"] for hit in found.items]
    table(("media", "score"), rows, title=f"like {entity_id} ({found.model})")


def faces(
    target: Annotated[str, typer.Argument(help="Media id (a face id with --person / --unassign)")],
    similar_to: Annotated[
        str | None, typer.Option("--similar", help="Instead: the faces most like this face id")
    ] = None,
    person: Annotated[
        int | None, typer.Option("--person", min=1, help="Move face TARGET to this person")
    ] = None,
    unassign: Annotated[
        bool, typer.Option("--unassign", help="Take face TARGET out of its person for good")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    json_out: Json = False,
) -> None:
    """Faces found in a photo (--similar FACE: the faces most like that one; --person P or
    --unassign: move face TARGET to person P, or out of its person)."""
    if person is not None and unassign:
        raise typer.BadParameter("use --person or --unassign, not both")
    with handled(), open_client() as client:
        if person is not None or unassign:
            face = client.set_face_person(target, None if unassign else person)
            if json_out:
                return print_json(face)
            where = f"person {face.person_id}" if face.person_id else "no person"
            return out.print(f"face {face.face_id} is now in {where}")
        if similar_to is not None:
            like = client.similar_faces(similar_to, limit)
            if json_out:
                return print_json(like)
            rows = [[f.face_id, f.media_store_id, f"{f.score:.3f}"] for f in like.items]
            return table(("face", "media", "score"), rows, title=f"like face {similar_to}")
        found = client.faces(_media_id(target))
    if json_out:
        return print_json(found)
    rows = [[f.face_id, _box(f.bbox), f"{f.confidence:.2f}", f.person_id or "", f.model]
            for f in found.items]  # fmt: skip
    columns = ("face", "box (x,y wxh)", "confidence", "person", "model")
    table(columns, rows, title=f"faces in {target}")


def _media_id(value: str) -> int:
    try:
        media_id = int(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a media id") from None
    if media_id < 1:
        raise typer.BadParameter("a media id is at least 1")
    return media_id


def _box(b: BBoxRead) -> str:
    return f"{b.x},{b.y} {b.width}x{b.height}"


def search(
    words: Annotated[list[str], typer.Argument(help="Words to look for")],
    limit: Annotated[int | None, typer.Option(min=1, max=100)] = None,
    names: Annotated[
        bool, typer.Option("--names", help="Search labels/descriptions/filenames in the store")
    ] = False,
    json_out: Json = False,
) -> None:
    """Find photos by what they show (labels), or by name with --names."""
    q = " ".join(words)
    with handled(), open_client() as client:
        if names:
            page = client.list_entities(1, limit or 20, search_query=q)
            if json_out:
                return print_json(page.items)
            return table(ENTITY_COLUMNS, entity_rows(page.items), title=f"names: {q}")
        found = client.search_labels(q, limit)
    if json_out:
        return print_json(found)
    rows = [[m.media_store_id, f"{m.score:.3f}", _labels(m.labels)] for m in found.items]
    table(("media", "score", "labels"), rows, title=f"showing: {q}")


def _labels(labels: list[LabelRead]) -> str:
    return ", ".join(f"{lab.label} {lab.probability:.0%}" for lab in labels[:4])


def jobs(
    status: Annotated[
        str | None, typer.Option(help="pending|processing|completed|error|cancelled")
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task type")] = None,
    media: Annotated[int | None, typer.Option("--media", help="Media id")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 20,
    json_out: Json = False,
) -> None:
    """List inference jobs."""
    filters = {"status": status, "task_type": task, "media_store_id": media}
    filters = {k: v for k, v in filters.items() if v is not None}
    with handled(), open_client() as client:
        result = client.list_jobs(page, page_size, **filters)
    if json_out:
        return print_json(result)
    table(JOB_COLUMNS, [_job_row(j) for j in result.items])
    p = result.pagination
    out.print(f"page {p.page}/{max(p.total_pages, 1)} · {p.total_items} jobs", style="dim")


JOB_COLUMNS = ("job", "task", "media", "status", "%", "tries", "created", "error")


def _job_row(j: JobRead) -> list[Any]:
    return [
        j.job_id,
        j.task_type,
        j.media_store_id,
        j.status.value,
        j.progress,
        j.attempts,
        short_when(j.created_at),
        j.error_message or "",
    ]


def job(
    job_id: Annotated[str, typer.Argument(help="Job id")],
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow until it ends")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the job")] = False,
    retry: Annotated[bool, typer.Option("--retry", help="Queue a failed job again")] = False,
    json_out: Json = False,
) -> None:
    """Show one job; --watch follows its live events until it completes or fails."""
    with handled(), open_client() as client:
        if cancel:
            client.cancel_job(job_id)
            return (
                print_json({"job_id": job_id, "cancelled": True})
                if json_out
                else out.print(f"job {job_id} cancelled")
            )
        current = client.retry_job(job_id) if retry else client.get_job(job_id)
        if watch:
            current = _watch(client, current, json_out)
        elif json_out:
            print_json(current)
        else:
            table(JOB_COLUMNS, [_job_row(current)], title=f"job {job_id}")
    if watch and current.status.value != "completed":
        raise typer.Exit(EXIT_FAILED)


def _events(client: MediaNestClient, job_id: str, sink: queue.Queue[dict[str, Any]]) -> None:
    try:
        for event in client.job_events(job_id=job_id):
            sink.put(event)
    except MediaNestError:
        pass  # no event stream: the poll below still sees the job finish


def _updates(
    client: MediaNestClient, job: JobRead
) -> Iterator[tuple[dict[str, Any] | None, JobRead]]:
    """Events as they come (None on a quiet poll tick) with the job's state after each."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_events, args=(client, job.job_id, events), daemon=True).start()
    while job.status.value not in TERMINAL:
        try:
            event: dict[str, Any] | None = events.get(timeout=1.0)
        except queue.Empty:
            event = None
        job = client.get_job(job.job_id)
        yield event, job


def _watch(client: MediaNestClient, job: JobRead, json_out: bool) -> JobRead:
    if json_out:
        print_json({"event": "state", "job": job.model_dump(mode="json")})
    else:
        out.print(f"job {job.job_id} ({job.task_type} on {job.media_store_id}): {job.status.value}")
    last = (job.status, job.progress)
    started = time.monotonic()
    state = job
    for event, state in _updates(client, job):
        if json_out and event is not None:
            print_json(event)
        elif not json_out and (state.status, state.progress) != last:
            elapsed = time.monotonic() - started
            out.print(f"  {elapsed:6.1f}s  {state.status.value:<10} {state.progress:>3}%")
        last = (state.status, state.progress)
    if json_out:
        print_json({"event": "final", "job": state.model_dump(mode="json")})
    else:
        out.print(
            f"{state.status.value}" + (f": {state.error_message}" if state.error_message else "")
        )
    return state
