"""``medianest restore SRC``: bring a stopped installation back to the state of a backup.

Every object the manifest names is hashed before anything is written: a corrupted or missing file
is reported by name and nothing is restored. Files are then copied (hashed again on the way) into
temp files renamed into place, databases replaced, keys given mode 0600.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.progress import Progress

from medianest.cli.backup import databases
from medianest.cli.backup.archive import Entry, Manifest, ObjectStore, read_manifest
from medianest.cli.backup.backup import advancer
from medianest.cli.backup.layout import SQLITE_SUFFIXES, Installation
from medianest.media_store.storage import Readable


class RestoreRefused(RuntimeError):
    """The restore did not start: the backup is damaged or the target is not ready for it."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class RestoreResult:
    manifest: Manifest
    files: int = 0
    bytes: int = 0
    vector_jobs: int = 0
    notes: list[str] = field(default_factory=list)


def load(src: Path) -> tuple[Manifest, ObjectStore]:
    try:
        manifest = read_manifest(src)
    except (ValueError, KeyError) as exc:
        raise RestoreRefused(f"{src}/manifest.json is not a valid backup manifest: {exc}") from exc
    if manifest is None:
        raise RestoreRefused(f"{src} holds no completed backup (no manifest.json)")
    return manifest, ObjectStore(src)


def verify(manifest: Manifest, store: ObjectStore, progress: Progress | None = None) -> list[str]:
    """Every problem with the backup's files, by name (empty: all match the manifest)."""
    entries = list(manifest.entries())
    advance = advancer(progress, "verifying backup", sum(e.size for _, e in entries))
    problems = []
    for name, entry in entries:
        problem = store.verify(entry, advance)
        if problem is not None:
            problems.append(f"{name} (sha256 {entry.sha256[:12]}…): {problem}")
    return problems


def check_target(inst: Installation, manifest: Manifest, force: bool) -> None:
    running = [f"{name} at {url}" for name, url in inst.urls.items() if _answers(url)]
    if running:
        raise RestoreRefused("stop the installation first; still running: " + ", ".join(running))
    for ref in inst.databases:
        kind = manifest.databases.get(ref.service, {}).get("kind")
        if kind != ref.kind:
            raise RestoreRefused(
                f"{ref.service}: the backup holds a {kind} database, the target is {ref.kind}"
            )
    if force:
        return
    in_use = [ref.describe() for ref in inst.databases if not databases.is_empty(ref)]
    if next(inst.storage.list_stored(), None) is not None:
        in_use.append("the media files")
    if in_use:
        raise RestoreRefused(
            "the target already holds data (use --force to replace it): " + ", ".join(in_use)
        )


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=1.5)
    except httpx.HTTPError:
        return False
    return True


def run_restore(
    inst: Installation,
    src: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    manifest, store = load(src)
    check_target(inst, manifest, force)
    problems = verify(manifest, store, progress)
    if problems:
        raise RestoreRefused("the backup is damaged; nothing was restored", problems)
    result = RestoreResult(manifest)
    _clear(inst)
    for name, entry in manifest.config.items():
        target = inst.home / name
        store.copy_out(entry, target)
        os.chmod(target, 0o600)  # keys, passwords and tokens: owner only
        result.files += 1
    for ref in inst.databases:
        _restore_database(ref, manifest, store)
    advance = advancer(progress, "restoring media", sum(e.size for e in manifest.media.values()))
    for name, entry in manifest.media.items():
        with store.path(entry.sha256).open("rb") as source:  # verified above
            inst.storage.put_stored(name, _Counting(source, advance))
        result.files += 1
        result.bytes += entry.size
    result.vector_jobs = _vectors(inst, manifest)
    return result


class _Counting:
    """A reader that reports the bytes read (for the progress bar)."""

    def __init__(self, source: Readable, advance: Callable[[int], None] | None) -> None:
        self.source, self.advance = source, advance

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size)
        if self.advance is not None:
            self.advance(len(data))
        return data


def _clear(inst: Installation) -> None:
    """Remove what the restore replaces (the target passed check_target)."""
    for name, _, _ in list(inst.storage.list_stored()):
        inst.storage.delete_stored(name)
    shutil.rmtree(inst.storage.tmp_dir, ignore_errors=True)  # upload leftovers
    inst.storage.tmp_dir.mkdir(parents=True, exist_ok=True)
    if not inst.qdrant_url:
        shutil.rmtree(inst.vectors_dir, ignore_errors=True)
    for ref in inst.databases:
        if ref.kind == "sqlite":
            for suffix in SQLITE_SUFFIXES:
                Path(f"{ref.sqlite_path}{suffix}").unlink(missing_ok=True)


def _restore_database(ref: databases.DatabaseRef, manifest: Manifest, store: ObjectStore) -> None:
    data = manifest.databases[ref.service]
    entry = Entry(str(data["sha256"]), int(data["size"]))
    if ref.kind == "sqlite":
        store.copy_out(entry, ref.sqlite_path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        dump_file = Path(tmp) / f"{ref.service}.dump"
        store.copy_out(entry, dump_file)
        databases.restore(ref, dump_file)


def _vectors(inst: Installation, manifest: Manifest) -> int:
    if manifest.vectors.get("mode") != "recomputed" or inst.qdrant_url:
        return 0
    if not any(ref.service == "inference" for ref in inst.databases):
        return 0
    from medianest.common.db import Database
    from medianest.inference.db import transaction
    from medianest.inference.service.admin import queue_vector_rebuild

    db = Database(inst.database("inference").url)
    try:
        with transaction(db) as session:
            return queue_vector_rebuild(session, inst.max_attempts)
    finally:
        db.dispose()
