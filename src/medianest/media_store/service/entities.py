"""Entity rules: create, full update, partial update, delete, read and list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medianest.common.errors import Conflict, NotFound, Unprocessable
from medianest.common.pagination import Pagination
from medianest.media_store import repository as repo
from medianest.media_store.feed import append_change, now_ms
from medianest.media_store.media import MediaInfo
from medianest.media_store.models import Entity
from medianest.media_store.schemas import (
    ChangeOp,
    EntityFields,
    EntityPage,
    EntityPatchBody,
    EntityQuery,
    EntityRead,
    KeysetCursor,
    ListPagination,
    OrderBy,
)
from medianest.media_store.service.audit import forget_damage
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.counts import CountCache
from medianest.media_store.service.hierarchy import check_parent
from medianest.media_store.service.ingest import content_fields, lock_content, store_content
from medianest.media_store.uploaded import UploadedFile

EDITABLE = ("label", "description", "parent_id")


def to_reads(session: Session, rows: Sequence[Any]) -> list[EntityRead]:
    """Response models for entities or version rows, with collections' live children counts."""
    counts = repo.children_counts(session, [r.id for r in rows if r.is_collection])
    reads = []
    for row in rows:
        read = EntityRead.model_validate(row, from_attributes=True)
        if row.is_collection:
            read.children_count = counts.get(row.id, 0)
        reads.append(read)
    return reads


def to_read(session: Session, row: Any) -> EntityRead:
    return to_reads(session, [row])[0]


def require(session: Session, entity_id: int, for_update: bool = False) -> Entity:
    entity = repo.get(session, entity_id, for_update=for_update)
    if entity is None:
        raise NotFound(f"entity {entity_id} not found")
    return entity


def get(session: Session, entity_id: int, version: int | None = None) -> EntityRead:
    if version is None:
        return to_read(session, require(session, entity_id))
    row = repo.version(session, entity_id, version)
    if row is None:
        raise NotFound(f"entity {entity_id} has no version {version}")
    return to_read(session, row)


def list_entities(session: Session, query: EntityQuery, counts: CountCache) -> EntityPage:
    """A page by number (``page``, with totals) or after a cursor (``after``, without)."""
    cursor = _cursor_for(query) if query.after is not None else None
    rows, more = repo.list_entities(session, query, cursor)
    if cursor is None:
        built = Pagination.build(query.page, query.page_size, counts.total(session, query))
        pagination = ListPagination.model_validate(built.model_dump())
    else:
        pagination = ListPagination(
            page=0,
            page_size=query.page_size,
            total_items=None,
            total_pages=None,
            has_next=more,
            has_prev=True,
        )
    last = rows[-1] if rows and more else None
    return EntityPage(
        items=to_reads(session, rows),
        pagination=pagination,
        next_cursor=_cursor_after(query, last) if last is not None else None,
    )


def _cursor_for(query: EntityQuery) -> KeysetCursor:
    assert query.after is not None
    try:
        cursor = KeysetCursor.decode(query.after)
    except ValueError:
        raise Unprocessable("after: not a cursor from this list") from None
    if (cursor.order_by, cursor.order) != (query.order_by, query.order):
        raise Unprocessable(
            f"after: the cursor is for order_by={cursor.order_by.value}&order="
            f"{cursor.order.value}; send the same order with it"
        )
    wanted = str if cursor.order_by is OrderBy.label else int
    if cursor.value is not None and (
        cursor.order_by is OrderBy.id or not isinstance(cursor.value, wanted)
    ):
        raise Unprocessable("after: not a cursor from this list")
    return cursor


def _cursor_after(query: EntityQuery, row: Any) -> str:
    value = None if query.order_by is OrderBy.id else getattr(row, query.order_by.value)
    return KeysetCursor(order_by=query.order_by, order=query.order, value=value, id=row.id).encode()


def check_form(fields: EntityFields, upload: UploadedFile | None) -> None:
    if fields.is_collection and upload is not None:
        raise Unprocessable("a collection cannot carry a file")
    if not fields.is_collection and upload is None:
        raise Unprocessable("a media entity needs a file in the 'image' part")


def create(
    session: Session,
    ctx: StoreContext,
    fields: EntityFields,
    upload: UploadedFile | None,
    info: MediaInfo | None,
    user_id: int,
) -> tuple[EntityRead, bool]:
    """Insert a new entity; for content already stored, return that entity and False."""
    if upload is not None and info is not None:
        lock_content(session, upload.sha256)
        existing = repo.by_md5(session, upload.md5)
        if existing is not None:
            return to_read(session, existing), False
    check_parent(session, fields.parent_id)
    if upload is not None and info is not None:
        forget_damage(session, ctx.storage, upload.sha256)
        store_content(session, ctx.storage, upload, info)
    now = now_ms()
    entity = Entity(
        **fields.model_dump(),
        added_date=now,
        updated_date=now,
        create_date=now,
        added_by=user_id,
        updated_by=user_id,
        is_deleted=False,
    )
    if upload is not None and info is not None:
        for key, value in content_fields(ctx.storage, upload, info).items():
            setattr(entity, key, value)
    session.add(entity)
    _flush(session)
    append_change(session, entity, ChangeOp.created, 1)
    return to_read(session, entity), True


def _flush(session: Session) -> None:
    """Flush; a unique-index violation (content taken meanwhile) is a 409, never a 500.

    Writers of one content are serialised by the content lock (and SQLite's single writer), so
    this only fires on anomalies; the request's transaction is then rolled back.
    """
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("this content is already stored as another entity") from exc


def replace(
    session: Session,
    ctx: StoreContext,
    entity_id: int,
    fields: EntityFields,
    upload: UploadedFile | None,
    info: MediaInfo | None,
    user_id: int,
) -> EntityRead:
    """Full update (PUT): label, description and parent replaced; optional new content."""
    entity = require(session, entity_id, for_update=True)
    if upload is not None:
        lock_content(session, upload.sha256)
    check_replace(session, entity, fields, upload)
    if fields.parent_id != entity.parent_id:
        check_parent(session, fields.parent_id, entity.id, entity.is_collection)
    changes: dict[str, Any] = {k: getattr(fields, k) for k in EDITABLE}
    if upload is not None and info is not None and upload.md5 != entity.md5:
        forget_damage(session, ctx.storage, upload.sha256)
        store_content(session, ctx.storage, upload, info)
        changes |= content_fields(ctx.storage, upload, info)
    return apply_changes(session, entity, changes, user_id)


def check_replace(
    session: Session, entity: Entity, fields: EntityFields, upload: UploadedFile | None
) -> None:
    """PUT rules that need no analysis: immutable kind, file only for media, content not taken."""
    if fields.is_collection != entity.is_collection:
        raise Unprocessable("is_collection cannot change")
    if entity.is_collection and upload is not None:
        raise Unprocessable("a collection cannot carry a file")
    if upload is not None and upload.md5 != entity.md5:
        other = repo.by_md5(session, upload.md5)
        if other is not None and other.id != entity.id:
            raise Conflict(f"this content is already stored as entity {other.id}")


def patch(session: Session, entity_id: int, body: EntityPatchBody, user_id: int) -> EntityRead:
    """Partial update: only the keys sent change (``is_deleted`` trashes or restores)."""
    entity = require(session, entity_id, for_update=True)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    if changes.get("is_deleted", False) is None:
        raise Unprocessable("is_deleted cannot be null")
    new_parent = changes.get("parent_id", entity.parent_id)
    if "parent_id" in changes and new_parent != entity.parent_id:
        check_parent(session, new_parent, entity.id, entity.is_collection)
    return apply_changes(session, entity, changes, user_id)


def apply_changes(
    session: Session, entity: Entity, changes: dict[str, Any], user_id: int, force: bool = False
) -> EntityRead:
    """Set the changed columns; if anything changed (or ``force``), stamp it and feed it."""
    changed = {k: v for k, v in changes.items() if getattr(entity, k) != v}
    if not changed and not force:
        return to_read(session, entity)
    was_deleted = entity.is_deleted
    for key, value in changed.items():
        setattr(entity, key, value)
    entity.updated_date, entity.updated_by = now_ms(), user_id
    _flush(session)
    op = ChangeOp.deleted if entity.is_deleted and not was_deleted else ChangeOp.updated
    append_change(session, entity, op, repo.version_count(session, entity.id))
    return to_read(session, entity)


def hard_delete(session: Session, entity_id: int) -> set[str]:
    """Delete the row and its history; return the content hashes to clean up after commit."""
    entity = require(session, entity_id, for_update=True)
    if entity.is_collection and repo.has_children(session, entity.id):
        raise Conflict(f"collection {entity.id} is not empty")
    shas = repo.shas_of(session, [entity.id])
    append_change(session, entity, ChangeOp.deleted, repo.version_count(session, entity.id))
    repo.hard_delete(session, [entity.id])
    return shas


def delete_all(session: Session) -> tuple[int, set[str]]:
    """Delete every entity and its history; return the count and the hashes to clean up."""
    entities = repo.all_entities(session)
    shas = repo.referenced_shas(session)
    counts = repo.version_counts(session)
    for entity in entities:
        append_change(session, entity, ChangeOp.deleted, counts.get(entity.id, 0))
    repo.hard_delete_all(session)
    return len(entities), shas
