"""Upload whole photo libraries: walk, hash, ask the store what it has, upload the rest.

Resuming is the point: every file is hashed (md5) first and the store is asked which hashes it
already holds (``POST /entity/lookup``, 1,000 per call), so re-running after an interruption
uploads only what is missing. The upload POST itself is idempotent on the server (known content
returns the existing entity), so a file that was in flight when the run died is never doubled.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from medianest.client.errors import MediaNestError
from medianest.client.models import LookupResult
from medianest.client.sync import MediaNestClient

_IMAGE = ".jpg .jpeg .jpe .png .webp .gif .heic .heif .avif .tif .tiff .bmp"
_RAW = ".dng .cr2 .cr3 .nef .arw .orf .rw2 .raf .srw .pef"
_VIDEO = ".mp4 .m4v .mov .mkv .webm .avi .3gp .mts .m2ts"
MEDIA_EXTENSIONS = frozenset(f"{_IMAGE} {_RAW} {_VIDEO}".split())
HASH_CHUNK = 1 << 20


class Status(StrEnum):
    uploaded = "uploaded"
    duplicate = "duplicate"
    skipped = "skipped"
    failed = "failed"


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: Status
    entity_id: int | None = None
    reason: str | None = None


@dataclass
class UploadSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is Status.failed]

    def as_dict(self) -> dict[str, object]:
        counts = {s.value: self.count(s) for s in Status}
        files = [
            {
                "path": str(o.path),
                "status": o.status.value,
                "entity_id": o.entity_id,
                "reason": o.reason,
            }
            for o in sorted(self.outcomes, key=lambda o: str(o.path))
        ]
        return {**counts, "files": files}


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    md5: str = ""


# ---------------------------------------------------------------- walking and hashing


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def collect(paths: Iterable[Path]) -> tuple[list[LocalFile], list[Outcome]]:
    """Media files under ``paths`` (directories recursively, hidden entries ignored) and the
    outcomes of what was skipped or could not be read."""
    files: list[LocalFile] = []
    outcomes: list[Outcome] = []
    seen: set[Path] = set()
    for root in paths:
        if not root.exists():
            outcomes.append(Outcome(root, Status.failed, reason="no such file or directory"))
            continue
        for path in _walk(root) if root.is_dir() else [root]:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if path.suffix.lower() not in MEDIA_EXTENSIONS:
                outcomes.append(Outcome(path, Status.skipped, reason="not a media file"))
            elif path.is_file():
                files.append(LocalFile(path, path.stat().st_size))
    return files, outcomes


def md5_of(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
            if on_bytes:
                on_bytes(len(chunk))
    return digest.hexdigest()


# ---------------------------------------------------------------- the uploader


class Uploader:
    """Runs one upload: hash → lookup → upload missing, with ``concurrency`` threads."""

    def __init__(
        self,
        client: MediaNestClient,
        *,
        concurrency: int = 4,
        parent_id: int | None = None,
        console: Console | None = None,
        show_progress: bool = True,
    ) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.parent_id = parent_id
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not show_progress,
            transient=False,
        )
        self._lock = threading.Lock()

    def run(self, paths: Iterable[Path]) -> UploadSummary:
        files, outcomes = collect(paths)
        summary = UploadSummary(outcomes)
        with self.progress:
            hashed = self._hash_all(files, summary)
            todo = self._skip_known(hashed, summary)
            self._upload_all(todo, summary)
        return summary

    def _task(self, name: str, files: list[LocalFile]) -> TaskID:
        total = sum(f.size for f in files)
        return self.progress.add_task(name, total=total, done=0, files=len(files))

    def _pool_map(
        self,
        files: list[LocalFile],
        work: Callable[[LocalFile], Outcome | LocalFile],
        task: TaskID,
    ) -> Iterator[Outcome | LocalFile]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = [pool.submit(work, f) for f in files]
            try:
                for n, future in enumerate(as_completed(futures), 1):
                    self.progress.update(task, done=n)
                    yield future.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _advance(self, task: TaskID) -> Callable[[int], None]:
        return lambda n: self.progress.advance(task, n)

    def _hash_all(self, files: list[LocalFile], summary: UploadSummary) -> list[LocalFile]:
        task = self._task("hashing", files)

        def work(f: LocalFile) -> Outcome | LocalFile:
            try:
                return LocalFile(f.path, f.size, md5_of(f.path, self._advance(task)))
            except OSError as exc:
                return Outcome(f.path, Status.failed, reason=f"unreadable: {exc.strerror}")

        hashed: list[LocalFile] = []
        for item in self._pool_map(files, work, task):
            if isinstance(item, Outcome):
                summary.outcomes.append(item)
            else:
                hashed.append(item)
        return sorted(hashed, key=lambda f: str(f.path))

    def _skip_known(self, files: list[LocalFile], summary: UploadSummary) -> list[LocalFile]:
        """Drop what the store already holds, and local copies of the same content."""
        known = self._lookup(files)
        todo: list[LocalFile] = []
        first_of: dict[str, Path] = {}
        for f in files:
            hit = known.get(f.md5)
            if hit is not None and hit.known:
                reason = "already stored" + (" (in trash)" if hit.is_deleted else "")
                summary.outcomes.append(Outcome(f.path, Status.skipped, hit.entity_id, reason))
            elif f.md5 in first_of:
                reason = f"same content as {first_of[f.md5]}"
                summary.outcomes.append(Outcome(f.path, Status.duplicate, reason=reason))
            else:
                first_of[f.md5] = f.path
                todo.append(f)
        return todo

    def _lookup(self, files: list[LocalFile]) -> dict[str, LookupResult]:
        hashes = sorted({f.md5 for f in files})
        if not hashes:
            return {}
        return {r.hash.lower(): r for r in self.client.lookup(hashes)}

    def _upload_all(self, files: list[LocalFile], summary: UploadSummary) -> None:
        task = self._task("uploading", files)
        for outcome in self._pool_map(files, lambda f: self._upload_one(f, task), task):
            assert isinstance(outcome, Outcome)
            summary.outcomes.append(outcome)

    def _upload_one(self, f: LocalFile, task: TaskID) -> Outcome:
        sent = [0]

        def on_bytes(n: int) -> None:
            sent[0] += n
            self.progress.advance(task, n)

        try:
            result = self.client.upload(f.path, parent_id=self.parent_id, on_bytes=on_bytes)
        except MediaNestError as exc:
            self.progress.advance(task, f.size - sent[0])
            return Outcome(f.path, Status.failed, reason=_reason(exc))
        except OSError as exc:
            self.progress.advance(task, f.size - sent[0])
            return Outcome(f.path, Status.failed, reason=f"unreadable: {exc.strerror}")
        status = Status.uploaded if result.created else Status.duplicate
        reason = None if result.created else "the store already had this content"
        return Outcome(f.path, status, result.entity.id, reason)


def _reason(exc: MediaNestError) -> str:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return f"{exc.status_code or 'connection'}: {detail}"
