"""Upload requests end to end: cheap checks first, analysis outside any write transaction.

On SQLite the write transaction holds the database's single write lock, so the slow part (exiftool,
decoding, renditions) runs before the write session is touched; the write session only moves
files into place and inserts rows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from medianest.media_store import repository as repo
from medianest.media_store.schemas import EntityFields, EntityRead
from medianest.media_store.service import entities
from medianest.media_store.service.audit import repair_on_upload
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.ingest import analyze
from medianest.media_store.uploaded import UploadedFile


def create(
    session: Session,
    read_session: Session,
    ctx: StoreContext,
    fields: EntityFields,
    upload: UploadedFile | None,
    user_id: int,
) -> tuple[EntityRead, bool]:
    """Create an entity; known content returns the existing entity and False (no analysis)."""
    entities.check_form(fields, upload)
    info = None
    if upload is not None:
        existing = repo.by_md5(read_session, upload.md5)
        if existing is not None:
            if existing.sha256 == upload.sha256:  # bytes an audit found damaged: heal them
                repair_on_upload(session, read_session, ctx.storage, upload)
            return entities.to_read(read_session, existing), False
        info = analyze(ctx, upload)
    return entities.create(session, ctx, fields, upload, info, user_id)


def replace(
    session: Session,
    read_session: Session,
    ctx: StoreContext,
    entity_id: int,
    fields: EntityFields,
    upload: UploadedFile | None,
    user_id: int,
) -> EntityRead:
    """Full update; a new file is analysed before the write transaction starts."""
    current = entities.require(read_session, entity_id)
    entities.check_replace(read_session, current, fields, upload)
    info = None
    if upload is not None and upload.md5 != current.md5:
        info = analyze(ctx, upload)
    return entities.replace(session, ctx, entity_id, fields, upload, info, user_id)
