"""``medianest backup DEST``: a consistent online backup of a running installation.

Databases first (each a consistent snapshot, see layout.py for the order), then keys and settings,
then the media files. Files are content-addressed (an original's name is its sha256), so files
that appear after the snapshots are merely extra, and a file already in DEST is never copied
again; the manifest is written last, so an interrupted backup leaves the previous manifest intact
and the next run resumes from the objects already copied.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from medianest import __version__
from medianest.cli.backup import databases
from medianest.cli.backup.archive import Entry, Manifest, ObjectStore, write_manifest
from medianest.cli.backup.layout import Installation

INDEX = "index.json"  # name -> [size, mtime_ns, sha256] of the last run: skips re-hashing


@dataclass
class BackupResult:
    manifest: Manifest
    copied_files: int = 0
    copied_bytes: int = 0
    skipped_files: int = 0
    vanished: list[str] = field(default_factory=list)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), transient=False,
    )  # fmt: skip


def advancer(progress: Progress | None, label: str, total: int) -> Callable[[int], None] | None:
    """A callback moving a new bar of ``progress`` by a number of bytes (None: no bar)."""
    if progress is None:
        return None
    task = progress.add_task(label, total=total)
    return lambda n: progress.advance(task, n)


def run_backup(inst: Installation, dest: Path, progress: Progress | None = None) -> BackupResult:
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = ObjectStore(dest)
    manifest = Manifest(datetime.now(UTC).isoformat(), __version__)
    result = BackupResult(manifest)
    _databases(inst, dest, store, manifest)
    for name, path in inst.config_files():
        manifest.config[name] = store.put_file(path)
    _media(inst, dest, store, result, progress)
    manifest.vectors = _vectors_note(inst)
    manifest.stats = {
        "media_files": len(manifest.media),
        "media_bytes": sum(e.size for e in manifest.media.values()),
        "copied_files": result.copied_files,
        "copied_bytes": result.copied_bytes,
    }
    write_manifest(dest, manifest)
    store.prune({entry.sha256 for _, entry in manifest.entries()})
    return result


def _databases(inst: Installation, dest: Path, store: ObjectStore, manifest: Manifest) -> None:
    for ref in inst.databases:
        fd, name = tempfile.mkstemp(dir=dest, prefix=f".{ref.service}-", suffix=".dump")
        os.close(fd)
        snapshot = Path(name)
        try:
            databases.dump(ref, snapshot)
            entry = store.put_file(snapshot)
        finally:
            snapshot.unlink(missing_ok=True)
        manifest.databases[ref.service] = {"kind": ref.kind, **entry.to_json()}


def _media(
    inst: Installation,
    dest: Path,
    store: ObjectStore,
    result: BackupResult,
    progress: Progress | None,
) -> None:
    index = _load_index(dest)
    todo: list[tuple[str, int, int]] = []
    for name, size, mtime_ns in inst.storage.list_stored():
        known = _known(name, size, mtime_ns, index)
        if known is not None and store.has(known):
            result.manifest.media[name] = known
            result.skipped_files += 1
        else:
            todo.append((name, size, mtime_ns))
    advance = advancer(progress, "media files", sum(size for _, size, _ in todo))
    try:
        for name, _, mtime_ns in todo:
            try:
                with inst.storage.open_stored(name) as source:
                    entry = store.put_stream(source, advance)
            except FileNotFoundError:  # deleted after the database snapshot: not referenced
                result.vanished.append(name)
                continue
            result.manifest.media[name] = entry
            index[name] = [entry.size, mtime_ns, entry.sha256]
            result.copied_files += 1
            result.copied_bytes += entry.size
    except BaseException:  # interrupted: the next run skips what this one copied
        _save_index(dest, index)
        raise
    _save_index(dest, {k: index[k] for k in result.manifest.media if k in index})


def _known(name: str, size: int, mtime_ns: int, index: dict[str, list[object]]) -> Entry | None:
    """The entry of a file without reading it: an original is named by its sha256; any other
    file is known when its size and mtime match the last run's."""
    if name.startswith("files/"):
        return Entry(name.rsplit("/", 1)[1], size)
    cached = index.get(name)
    if cached and cached[0] == size and cached[1] == mtime_ns:
        return Entry(str(cached[2]), size)
    return None


def _load_index(dest: Path) -> dict[str, list[object]]:
    try:
        data = json.loads((dest / INDEX).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_index(dest: Path, index: dict[str, list[object]]) -> None:
    tmp = dest / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index))
    os.replace(tmp, dest / INDEX)


def _vectors_note(inst: Installation) -> dict[str, object]:
    if inst.qdrant_url:
        return {
            "mode": "external",
            "note": "vectors live in the Qdrant server: back it up with Qdrant's own snapshots",
        }
    return {
        "mode": "recomputed",
        "note": "the embedded vector store is derived data: restore queues the embedding tasks "
        "again for every media item they had completed, and the workers rebuild it",
    }
