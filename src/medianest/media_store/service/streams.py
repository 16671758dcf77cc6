"""Which stream answers a play request, and when streams are made or dropped.

A stream belongs to content (sha256), like renditions: a PUT with a new file gets a new stream;
the old one is dropped once no entity's current file has that content (old versions are not
streamed), and a deleted file takes its stream with it (``Storage.remove``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.common.errors import NotFound, ServiceUnavailable, Unprocessable
from medianest.media_store import repository as repo
from medianest.media_store.schemas import EntityRead
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.entities import require
from medianest.media_store.storage import Storage
from medianest.media_store.streams import StreamBuilder, StreamState


@dataclass(frozen=True)
class StreamTarget:
    """A ready stream's folder (None while it is being made) and the content it plays."""

    folder: Path | None
    sha256: str
    entity_id: int


def _builder(ctx: StoreContext) -> StreamBuilder:
    if ctx.streams is None:
        raise NotFound("video streaming is off (MEDIA_STORE_VIDEO_STREAMS=off)")
    return ctx.streams


def locate(session: Session, ctx: StoreContext, entity_id: int) -> StreamTarget:
    """The entity's stream; queued for making when there is none yet."""
    entity = require(session, entity_id)
    if entity.is_collection or entity.type != "video" or not entity.sha256:
        raise NotFound(f"entity {entity_id} is not a video")
    builder = _builder(ctx)
    sha = entity.sha256
    state = builder.state(sha)
    if state is StreamState.ready:
        return StreamTarget(builder.folder(sha), sha, entity_id)
    if state is StreamState.failed:
        raise Unprocessable(f"this video cannot be streamed: {builder.failure(sha)}")
    original = _local(ctx).original(sha)
    if not original.exists():
        raise NotFound(f"the file of entity {entity_id} is missing")
    if not builder.request(sha, lambda: original):
        raise ServiceUnavailable("too many videos are waiting to be transcoded; retry later")
    return StreamTarget(None, sha, entity_id)


def after_upload(ctx: StoreContext, read: EntityRead) -> None:
    """Eager mode: queue the stream of a video that was just stored."""
    if ctx.streams is None or read.type != "video" or not read.sha256:
        return
    sha = read.sha256
    storage = _local(ctx)
    ctx.streams.request(sha, lambda: storage.original(sha))


def drop_replaced(db: Database, ctx: StoreContext, entity_id: int) -> None:
    """After a PUT's commit: drop the streams of the entity's old contents that no entity
    shows any more (their originals stay for the version history)."""
    with db.read_sessions() as session:
        stale = [
            sha
            for sha in repo.shas_of(session, [entity_id])
            if not repo.sha_is_current(session, sha)
        ]
    storage = ctx.storage
    if not isinstance(storage, Storage):  # no streams off the local disk
        return
    for sha in stale:
        storage.remove_stream(sha)


def _local(ctx: StoreContext) -> Storage:
    """Streams are made from, and kept on, the local disk (the builder is off on S3)."""
    if not isinstance(ctx.storage, Storage):
        raise NotFound("video streaming needs the local file storage")
    return ctx.storage
