"""CLI commands on the media store: browse, download, versions, collections, trash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from medianest.client._cli_common import (
    EXIT_FAILED,
    err,
    handled,
    open_client,
    out,
    parse_when,
    print_json,
    size,
    table,
    when,
)
from medianest.client.errors import MediaNestError
from medianest.client.models import EntityFilters, EntityRead
from medianest.client.sync import MediaNestClient

Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
EntityId = Annotated[int, typer.Argument(help="Entity id", min=1)]


def entity_rows(items: list[EntityRead]) -> list[list[Any]]:
    return [
        [
            e.id,
            "dir" if e.is_collection else (e.type or ""),
            e.label or e.original_filename or "",
            e.parent_id,
            e.children_count if e.is_collection else size(e.file_size),
            when(e.create_date),
            "trash" if e.is_deleted else "",
        ]
        for e in items
    ]


ENTITY_COLUMNS = ("id", "type", "name", "parent", "size", "taken", "")


def ls(
    parent: Annotated[int | None, typer.Option("--parent", "-p", help="In this collection")] = None,
    collections: Annotated[
        bool | None, typer.Option("--collections/--media", help="Only collections / only media")
    ] = None,
    media_type: Annotated[str | None, typer.Option("--type", help="image or video")] = None,
    mime: Annotated[str | None, typer.Option("--mime", help="e.g. image/jpeg")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include the trash")] = False,
    after: Annotated[str | None, typer.Option(help="Taken after (YYYY-MM-DD)")] = None,
    before: Annotated[str | None, typer.Option(help="Taken before (YYYY-MM-DD)")] = None,
    query: Annotated[str | None, typer.Option("--search", "-s", help="Text in names")] = None,
    order_by: Annotated[str | None, typer.Option(help="create_date|added_date|id|label")] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Newest / largest first")] = False,
    taken_from: Annotated[
        str | None, typer.Option("--from", help="Taken on or after (YYYY-MM-DD)")
    ] = None,
    taken_to: Annotated[str | None, typer.Option("--to", help="Taken on or before")] = None,
    top: Annotated[bool, typer.Option("--top", help="Only the top level (no parent)")] = False,
    md5: Annotated[str | None, typer.Option(help="The entity with this md5")] = None,
    min_size: Annotated[int | None, typer.Option(help="File size at least (bytes)")] = None,
    max_size: Annotated[int | None, typer.Option(help="File size at most (bytes)")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="The page after this cursor (from a previous ls)")
    ] = None,
    json_out: Json = False,
) -> None:
    """List media and collections, with filters."""
    filters: EntityFilters = {"include_deleted": deleted}
    optional = {
        "after": cursor,
        "md5": md5,
        "date_from": parse_when(taken_from),
        "date_to": parse_when(taken_to),
        "file_size_min": min_size,
        "file_size_max": max_size,
        "parent_id": 0 if top and parent is None else parent,
        "is_collection": collections,
        "type": media_type,
        "mime_type": mime,
        "created_after": parse_when(after),
        "created_before": parse_when(before),
        "search_query": query,
        "order_by": order_by,
        "order": "desc" if desc else None,
    }
    filters.update({k: v for k, v in optional.items() if v is not None})  # type: ignore[typeddict-item]
    with handled(), open_client() as client:
        result = client.list_entities(page, page_size, **filters)
    if json_out:
        return print_json(result)
    p = result.pagination
    table(ENTITY_COLUMNS, entity_rows(result.items))
    if p.total_items is not None:
        out.print(
            f"page {p.page}/{max(p.total_pages or 0, 1)} · {p.total_items} items", style="dim"
        )
    if result.next_cursor:
        out.print(f"more: --cursor {result.next_cursor}", style="dim")


def show(
    entity_id: EntityId,
    version: Annotated[int | None, typer.Option(help="This version (1 = first)")] = None,
    metadata: Annotated[bool, typer.Option("--metadata", help="Include all EXIF metadata")] = False,
    json_out: Json = False,
) -> None:
    """Show one entity (or one of its versions)."""
    with handled(), open_client() as client:
        entity = client.get_entity(entity_id, version)
        meta = client.metadata(entity_id) if metadata else None
    if json_out:
        body = entity.model_dump(mode="json")
        return print_json({**body, "metadata": meta} if metadata else body)
    rows = [[k, _fmt_field(k, v)] for k, v in entity.model_dump().items() if v is not None]
    table(("field", "value"), rows, title=f"entity {entity.id}")
    if meta is not None:
        out.print_json(data=meta)


def _fmt_field(key: str, value: Any) -> str:
    if key.endswith("_date") and isinstance(value, int):
        return f"{when(value)} ({value})"
    if key == "file_size":
        return f"{size(value)} ({value} bytes)"
    return str(value)


def download(
    entity_id: EntityId,
    output: Annotated[
        str, typer.Option("-o", "--output", help="File, or folder (existing or ending in /)")
    ] = ".",
    version: Annotated[int | None, typer.Option(help="This version's file")] = None,
    kind: Annotated[str, typer.Option(help="file, thumbnail or preview")] = "file",
    json_out: Json = False,
) -> None:
    """Download a file (streamed to disk; a folder keeps the original name)."""
    if kind not in ("file", "thumbnail", "preview"):
        raise typer.BadParameter("--kind must be file, thumbnail or preview")
    with handled(), open_client() as client:
        path = client.download(entity_id, output, version=version, kind=kind)
    if json_out:
        return print_json({"entity_id": entity_id, "path": str(path), "bytes": path.stat().st_size})
    out.print(f"saved {path} ({size(path.stat().st_size)})")


def versions(entity_id: EntityId, json_out: Json = False) -> None:
    """List an entity's versions: who changed what, and when."""
    with handled(), open_client() as client:
        found = client.versions(entity_id)
    if json_out:
        return print_json(found)
    rows = [
        [
            v.version,
            v.operation.value,
            when(v.updated_date),
            v.updated_by,
            ", ".join(v.changed_fields),
        ]
        for v in found
    ]
    table(("version", "op", "when", "by", "changed"), rows, title=f"entity {entity_id}")


def restore(
    entity_id: EntityId,
    version: Annotated[int, typer.Argument(help="Version to bring back", min=1)],
    json_out: Json = False,
) -> None:
    """Make an old version current again (as a new version)."""
    with handled(), open_client() as client:
        entity = client.restore_version(entity_id, version)
    if json_out:
        return print_json(entity)
    out.print(f"entity {entity.id}: version {version} restored")


def mkdir(
    label: Annotated[str, typer.Argument(help="Name of the new collection")],
    parent: Annotated[int | None, typer.Option("--parent", "-p", help="Inside this one")] = None,
    description: Annotated[str | None, typer.Option(help="Description")] = None,
    json_out: Json = False,
) -> None:
    """Create a collection."""
    with handled(), open_client() as client:
        entity = client.create_collection(label, description, parent)
    if json_out:
        return print_json(entity)
    out.print(f"collection {entity.id} created: {entity.label}")


def _each(
    ids: list[int], action: str, run: Callable[[MediaNestClient, int], object], json_out: bool
) -> None:
    """Apply ``run(id)`` to every id; report each, exit 1 if any failed."""
    results: list[dict[str, Any]] = []
    with handled(), open_client() as client:
        for entity_id in ids:
            try:
                run(client, entity_id)
                results.append({"id": entity_id, "ok": True})
            except MediaNestError as exc:
                results.append(
                    {
                        "id": entity_id,
                        "ok": False,
                        "error": str(exc.detail),
                        "status_code": exc.status_code,
                    }
                )
    if json_out:
        print_json(results)
    for r in results:
        if not json_out:
            text = f"{r['id']}: {action}" if r["ok"] else f"{r['id']}: failed ({r['error']})"
            (out if r["ok"] else err).print(text, highlight=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(EXIT_FAILED)


Ids = Annotated[list[int], typer.Argument(help="Entity ids", min=1)]


def mv(
    ids: Ids,
    parent: Annotated[int | None, typer.Option("--parent", "-p", help="Target collection")] = None,
    root: Annotated[bool, typer.Option("--root", help="Move to the top level")] = False,
    json_out: Json = False,
) -> None:
    """Move entities into a collection (or to the top with --root)."""
    if (parent is None) == (not root):
        raise typer.BadParameter("give exactly one of --parent ID or --root")
    _each(ids, "moved", lambda c, i: c.move_entity(i, parent), json_out)


def rm(
    ids: Ids,
    purge: Annotated[bool, typer.Option("--purge", help="Delete for good (file and history)")] = (
        False
    ),
    undo: Annotated[bool, typer.Option("--undo", help="Take out of the trash")] = False,
    json_out: Json = False,
) -> None:
    """Move entities to the trash (--undo brings them back, --purge deletes for good)."""
    if purge and undo:
        raise typer.BadParameter("--purge and --undo exclude each other")
    if purge:
        _each(ids, "deleted", lambda c, i: c.delete_entity(i), json_out)
    elif undo:
        _each(ids, "restored from trash", lambda c, i: c.untrash_entity(i), json_out)
    else:
        _each(ids, "moved to trash", lambda c, i: c.trash_entity(i), json_out)


def duplicates(
    entity_id: Annotated[int | None, typer.Argument(help="Near duplicates of this one")] = None,
    max_distance: Annotated[int | None, typer.Option(help="Hamming distance (0-64)")] = None,
    json_out: Json = False,
) -> None:
    """Groups of (near-)duplicate photos, or the near duplicates of one entity."""
    with handled(), open_client() as client:
        if entity_id is not None:
            near = client.near_duplicates(entity_id, max_distance)
            if json_out:
                return print_json(near)
            rows = [[n.distance, *entity_rows([n.entity])[0]] for n in near.items]
            return table(("distance", *ENTITY_COLUMNS), rows, title=f"near {entity_id}")
        groups = client.duplicates(max_distance)
    if json_out:
        return print_json(groups)
    for n, group in enumerate(groups.groups, 1):
        table(ENTITY_COLUMNS, entity_rows(group.entities), title=f"group {n}")
    out.print(f"{len(groups.groups)} groups (max distance {groups.max_distance})", style="dim")
