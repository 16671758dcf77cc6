"""Where the media store's bytes are: originals by who uses them, renditions, streams, temp.

Originals are sized from the rows (content-addressed files have the size recorded at upload; the
audit verifies them); the other folders and unreferenced originals from the disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from medianest.common.errors import Conflict
from medianest.media_store import audit_repository as audit_repo
from medianest.media_store.schemas import StorageReport, Usage
from medianest.media_store.storage import FileStorage, Storage

STREAMS_DIR = "streams"  # where HLS renditions go, once video streaming exists


def _usage(paths: Iterable[Path]) -> Usage:
    usage = Usage()
    for path in paths:
        with contextlib.suppress(OSError):
            if path.is_file():
                usage.bytes += path.stat().st_size
                usage.files += 1
    return usage


def _folder(folder: Path) -> Usage:
    return _usage(folder.rglob("*")) if folder.is_dir() else Usage()


def report(session: Session, storage: FileStorage) -> StorageReport:
    if not isinstance(storage, Storage):
        raise Conflict("the storage report reads local folders; not available on S3 yet")
    content = audit_repo.referenced_content(session)
    live, trash, old = Usage(), Usage(), Usage()
    for item in content.values():
        target = live if item.live else trash if item.current else old
        target.files += 1
        target.bytes += item.size
    unreferenced = _usage(
        f.path for f in storage.originals() if f.path is not None and f.sha256 not in content
    )
    parts = {
        "originals": live,
        "trash": trash,
        "old_versions": old,
        "renditions": _folder(storage.renditions_dir),
        "streams": _folder(storage.root / STREAMS_DIR),
        "unreferenced": unreferenced,
        "temp": _folder(storage.tmp_dir),
    }
    entities, collections, trashed = audit_repo.entity_counts(session)
    return StorageReport(
        **parts,
        total_bytes=sum(u.bytes for u in parts.values()),
        entities=entities,
        collections=collections,
        trashed_entities=trashed,
    )
