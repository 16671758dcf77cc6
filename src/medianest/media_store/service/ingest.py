"""From an uploaded temp file to stored content: analysis, files in place, the media_files row."""

from __future__ import annotations

import contextlib
import errno
import io
import json
from typing import Any

import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from medianest.common.errors import InsufficientStorage, MediaNestError, ServiceUnavailable
from medianest.media_store import repository as repo
from medianest.media_store.feed import now_ms
from medianest.media_store.media import MediaError, MediaInfo
from medianest.media_store.media.phash import phash
from medianest.media_store.media.placeholder import thumbhash_of
from medianest.media_store.models import MediaFile
from medianest.media_store.service.context import StoreContext
from medianest.media_store.storage import FileStorage, Rendition
from medianest.media_store.uploaded import UploadedFile


def analyze(ctx: StoreContext, upload: UploadedFile) -> MediaInfo:
    """Run the media analysis; map its errors to API errors (415, 422, 503)."""
    if upload.size == 0:
        raise MediaNestError("the uploaded file is empty", status_code=422)
    try:
        info = ctx.analyzer.analyze(upload.path, now_ms())
    except MediaError as exc:
        if exc.status_code >= 500:
            raise ServiceUnavailable(f"media analysis failed: {exc}") from exc
        raise MediaNestError(str(exc) or type(exc).__name__, status_code=exc.status_code) from exc
    if info.phash is None and info.preview:  # videos: the poster frame's hash
        info.phash = phash(Image.open(io.BytesIO(info.preview)))
    return info


def lock_content(session: Session, sha256: str) -> None:
    """Serialise work on one content (upload vs. removal) until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(sha256[:15], 16)})


def store_content(
    session: Session, storage: FileStorage, upload: UploadedFile, info: MediaInfo
) -> None:
    """Put the original and renditions in place and record what we know about the content.

    If writing fails (disk full), files this call put in place are removed again: under the
    content lock, an original that was not there before belongs to no other row.
    """
    lock_content(session, upload.sha256)
    placed = not storage.has_original(upload.sha256)
    try:
        storage.place_original(upload.path, upload.sha256)
        storage.write_rendition(
            upload.sha256, Rendition.thumbnail, info.thumbnail, info.thumbnail_mime
        )
        storage.write_rendition(upload.sha256, Rendition.preview, info.preview, info.preview_mime)
    except ServiceUnavailable:  # the bucket went away: drop what this call put there, if we can
        if placed:
            with contextlib.suppress(Exception):
                storage.remove(upload.sha256)
        raise
    except OSError as exc:
        if placed:
            storage.remove(upload.sha256)
        if exc.errno == errno.ENOSPC:
            raise InsufficientStorage("not enough disk space to store this file") from exc
        raise
    if repo.media_file(session, upload.sha256) is None:
        session.add(
            MediaFile(
                sha256=upload.sha256,
                md5=upload.md5,
                file_size=upload.size,
                mime_type=info.mime_type,
                thumbnail_mime=info.thumbnail_mime,
                metadata_json=json.dumps(info.metadata, default=str),
                added_date=now_ms(),
            )
        )


def content_fields(storage: FileStorage, upload: UploadedFile, info: MediaInfo) -> dict[str, Any]:
    """The entity columns that come from the file."""
    return {
        "file_size": upload.size,
        "md5": upload.md5,
        "sha256": upload.sha256,
        "file_path": storage.relative_path(upload.sha256),
        "original_filename": upload.filename,
        "mime_type": info.mime_type,
        "type": info.type,
        "extension": info.extension,
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "create_date": info.create_date,
        "create_date_source": info.create_date_source,
        "camera_make": _cap(info.camera_make),
        "camera_model": _cap(info.camera_model),
        "latitude": info.latitude,
        "longitude": info.longitude,
        "orientation": info.orientation,
        "phash": info.phash,
        "thumbhash": thumbhash_of(info.thumbnail),
    }


def _cap(text: str | None) -> str | None:
    return text[:255] if text else text
