"""Version history: list with who/when/what changed, read one, restore one as a new version."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from medianest.common.errors import Conflict, NotFound
from medianest.media_store import repository as repo
from medianest.media_store.models import EntityVersion
from medianest.media_store.schemas import ChangeOp, EntityRead, VersionRead
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.entities import apply_changes, require
from medianest.media_store.service.hierarchy import check_parent
from medianest.media_store.service.ingest import lock_content

CONTENT_FIELDS = (
    "file_size", "height", "width", "duration", "mime_type", "type", "extension", "md5", "sha256",
    "file_path", "original_filename", "create_date", "create_date_source", "camera_make",
    "camera_model", "latitude", "longitude", "orientation", "phash", "thumbhash",
)  # fmt: skip
RESTORED_FIELDS = ("label", "description", "parent_id", "is_deleted", *CONTENT_FIELDS)
COMPARED_FIELDS = ("is_collection", *RESTORED_FIELDS)


def list_versions(session: Session, entity_id: int) -> list[VersionRead]:
    rows = repo.versions(session, entity_id)
    if not rows:
        raise NotFound(f"entity {entity_id} not found")
    out: list[VersionRead] = []
    previous: EntityVersion | None = None
    for number, row in enumerate(rows, start=1):
        out.append(_version_read(number, row, previous))
        previous = row
    return out


def _version_read(number: int, row: EntityVersion, previous: EntityVersion | None) -> VersionRead:
    if previous is None:
        changed = [f for f in COMPARED_FIELDS if getattr(row, f) not in (None, False)]
        op = ChangeOp.created
    else:
        changed = [f for f in COMPARED_FIELDS if getattr(row, f) != getattr(previous, f)]
        trashed = bool(row.is_deleted) and not previous.is_deleted
        op = ChangeOp.deleted if trashed else ChangeOp.updated
    return VersionRead(
        version=number,
        transaction_id=row.transaction_id,
        updated_date=row.updated_date,
        updated_by=row.updated_by,
        operation=op,
        changed_fields=changed,
    )


def restore(
    session: Session, ctx: StoreContext, entity_id: int, number: int, user_id: int
) -> EntityRead:
    """Make version ``number``'s metadata and file current again, as a new version."""
    entity = require(session, entity_id, for_update=True)
    row = repo.version(session, entity_id, number)
    if row is None:
        raise NotFound(f"entity {entity_id} has no version {number}")
    values: dict[str, Any] = {f: getattr(row, f) for f in RESTORED_FIELDS}
    if row.sha256:
        lock_content(session, row.sha256)
    _check_content(session, ctx, entity_id, row)
    if values["parent_id"] != entity.parent_id:
        check_parent(session, values["parent_id"], entity.id, entity.is_collection)
    values["is_deleted"] = bool(values["is_deleted"])
    return apply_changes(session, entity, values, user_id, force=True)


def _check_content(session: Session, ctx: StoreContext, entity_id: int, row: EntityVersion) -> None:
    if row.md5:
        other = repo.by_md5(session, row.md5)
        if other is not None and other.id != entity_id:
            raise Conflict(f"that version's content is now stored as entity {other.id}")
    if row.sha256 and not ctx.storage.has_original(row.sha256):
        raise Conflict("that version's file is no longer stored")
