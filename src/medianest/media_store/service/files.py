"""Which file answers a download: the original (any version) or a rendition."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from medianest.common.errors import NotFound
from medianest.media_store import repository as repo
from medianest.media_store.schemas import content_token
from medianest.media_store.service.audit import check_servable
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.entities import require
from medianest.media_store.storage import Located, Rendition


@dataclass(frozen=True)
class FileTarget:
    path: Located  # a local file, or an object in a bucket
    media_type: str
    etag: str
    filename: str
    token: str | None = None  # the content token (renditions): a matching ?v= is immutable


def _row(session: Session, entity_id: int, version: int | None) -> Any:
    if version is None:
        row: Any = require(session, entity_id)
    else:
        row = repo.version(session, entity_id, version)
        if row is None:
            raise NotFound(f"entity {entity_id} has no version {version}")
    if row.is_collection or not row.sha256:
        raise NotFound(f"entity {entity_id} has no file")
    return row


def original(
    session: Session, ctx: StoreContext, entity_id: int, version: int | None
) -> FileTarget:
    row = _row(session, entity_id, version)
    path = ctx.storage.locate_original(row.sha256)
    if path is None:
        raise NotFound(f"the file of entity {entity_id} is missing")
    check_servable(session, row.sha256, entity_id)
    name = row.original_filename or f"{entity_id}.{row.extension or 'bin'}"
    return FileTarget(path, row.mime_type or "application/octet-stream", f'"{row.md5}"', name)


def rendition(
    session: Session, ctx: StoreContext, entity_id: int, kind: Rendition, version: int | None
) -> FileTarget:
    row = _row(session, entity_id, version)
    found = ctx.storage.locate_rendition(row.sha256, kind)
    if found is None:
        raise NotFound(f"entity {entity_id} has no {kind.name}")
    path, mime = found
    ext = "webp" if mime == "image/webp" else "jpg"
    name = f"{entity_id}.{kind.value}.{ext}"
    return FileTarget(path, mime, f'"{row.md5}-{kind.value}"', name, content_token(row.sha256))


def metadata(session: Session, entity_id: int, version: int | None) -> dict[str, Any]:
    row = _row(session, entity_id, version)
    media_file = repo.media_file(session, row.sha256)
    if media_file is None:
        raise NotFound(f"no metadata stored for entity {entity_id}")
    data: dict[str, Any] = json.loads(media_file.metadata_json)
    return data
