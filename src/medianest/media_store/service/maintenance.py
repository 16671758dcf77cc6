"""File clean-up: after a delete's commit, and the orphan sweep (start-up and admin route).

A file is removed only after the commit that dropped its last reference, and only while holding
the content lock, so an upload of the same bytes racing the removal either sees the file gone
and re-creates it, or wins and keeps it. The sweep skips files younger than ``min_age_s``: an
upload in flight has put its file in place but not committed its row yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.common.errors import Conflict
from medianest.media_store import repository as repo
from medianest.media_store.media.placeholder import thumbhash_of
from medianest.media_store.schemas import SweepResult, ThumbhashBackfill
from medianest.media_store.service.ingest import lock_content
from medianest.media_store.storage import FileStorage, Rendition, Storage

log = logging.getLogger("medianest.media_store.maintenance")


def remove_unreferenced(db: Database, storage: FileStorage, shas: Iterable[str]) -> int:
    """Remove the files of ``shas`` that no entity or version references any more."""
    removed = 0
    for sha in sorted(shas):
        try:
            removed += _remove_one(db, storage, sha)
        except Exception:  # the sweep will retry; the delete itself has committed
            log.exception("removing an unreferenced file failed", extra={"sha256": sha})
    return removed


def _remove_one(db: Database, storage: FileStorage, sha: str) -> int:
    with db.sessions() as session, session.begin():
        lock_content(session, sha)
        if repo.sha_in_use(session, sha):
            return 0
        repo.delete_media_files(session, [sha])
        return int(storage.remove(sha))


def sweep(db: Database, storage: FileStorage, min_age_s: float) -> SweepResult:
    """Remove files, renditions, metadata rows and temp files that nothing references."""
    with db.read_sessions() as session:
        referenced = repo.referenced_shas(session)
        known = repo.media_file_shas(session)
    files = 0
    for stored in storage.originals():
        if stored.sha256 not in referenced and stored.age_s >= min_age_s:
            files += _remove_one(db, storage, stored.sha256)
    renditions = 0
    for owner in storage.rendition_owners() - referenced:
        if not storage.has_original(owner):
            renditions += storage.remove_renditions(owner)
    if isinstance(storage, Storage):  # video streams live on the local disk only
        for owner in storage.stream_owners() - referenced:  # counted with the renditions
            if not storage.has_original(owner):
                storage.remove_stream(owner)
                renditions += 1
    temps = 0
    for temp in storage.stale_temps(min_age_s):
        temp.unlink(missing_ok=True)
        temps += 1
    rows = _remove_rows(db, known - referenced)
    return SweepResult(
        files_removed=files,
        renditions_removed=renditions,
        temp_files_removed=temps,
        metadata_rows_removed=rows,
    )


def _remove_rows(db: Database, shas: set[str]) -> int:
    removed = 0
    for sha in sorted(shas):
        with db.sessions() as session, session.begin():
            lock_content(session, sha)
            if not repo.sha_in_use(session, sha):
                removed += repo.delete_media_files(session, [sha])
    return removed


def refresh_statistics(db: Database) -> None:
    """Give SQLite's planner statistics (without them it filters lists through poor indexes)."""
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL's autovacuum keeps its own statistics
    with db.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        conn.exec_driver_sql("ANALYZE")


def backfill_thumbhashes(
    session: Session, storage: FileStorage, after_id: int, limit: int
) -> ThumbhashBackfill:
    """Compute the missing placeholders of one batch from the stored thumbnails."""
    if not isinstance(storage, Storage):
        raise Conflict("the placeholder backfill reads local thumbnails; not available on S3 yet")
    rows = repo.without_thumbhash(session, after_id, limit)
    updated = 0
    for entity_id, sha256 in rows:
        found = storage.rendition(sha256, Rendition.thumbnail)
        value = thumbhash_of(found[0].read_bytes()) if found else None
        if value is not None:
            repo.set_thumbhash(session, entity_id, value)
            updated += 1
    last = rows[-1][0] if rows else after_id
    return ThumbhashBackfill(
        examined=len(rows), updated=updated, next_after_id=last, done=len(rows) < limit
    )
