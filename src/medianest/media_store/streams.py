"""Video streams on disk and the bounded executor that makes them.

State lives on disk, next to the streams, so it survives a restart without a table:

* ``streams/<sha256>/``: a complete stream (master playlist, variants, segments, playback MP4).
  It only ever appears by renaming a finished work folder, so it is never half made.
* ``streams/.work-<sha256>-<random>/``: a build in progress; leftovers of a killed process are
  removed at start.
* ``streams/<sha256>.failed``: the last error after every attempt failed (a broken file is not
  transcoded again and again); removed with the stream or when the file is deleted.

A build runs in a small thread pool (``MEDIA_STORE_VIDEO_STREAM_WORKERS``, default 1: ffmpeg
already uses every core). An ffmpeg that dies (killed, out of memory) is retried up to
``MEDIA_STORE_VIDEO_STREAM_ATTEMPTS`` times; a file ffmpeg rejects fails at once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path

from medianest.media_store.media import hls
from medianest.media_store.media.errors import MediaDecodeError, MediaToolError

log = logging.getLogger("medianest.media_store.streams")
WORK_PREFIX = ".work-"  # a dot: Storage.stream_owners skips these


class StreamState(StrEnum):
    ready = "ready"
    building = "building"
    failed = "failed"
    absent = "absent"


class StreamBuilder:
    def __init__(
        self,
        root: Path,
        rungs: Sequence[int],
        *,
        workers: int = 1,
        attempts: int = 3,
        max_queued: int = 1000,
        timeout_s: float = 3600.0,
    ) -> None:
        self.root = root
        self.rungs = list(rungs)
        self.attempts = attempts
        self.max_queued = max_queued
        self.timeout_s = timeout_s
        self.root.mkdir(parents=True, exist_ok=True)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="streams")
        self._remove_leftovers()

    def close(self) -> None:
        """Stop: queued builds are dropped, a running ffmpeg is killed (its work folder goes)."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def folder(self, sha256: str) -> Path:
        return self.root / sha256

    def _failed_marker(self, sha256: str) -> Path:
        return self.root / f"{sha256}.failed"

    def state(self, sha256: str) -> StreamState:
        if (self.folder(sha256) / hls.MASTER).is_file():
            return StreamState.ready
        with self._lock:
            if sha256 in self._pending:
                return StreamState.building
        if self._failed_marker(sha256).exists():
            return StreamState.failed
        return StreamState.absent

    def failure(self, sha256: str) -> str:
        try:
            return str(json.loads(self._failed_marker(sha256).read_text())["error"])
        except (OSError, ValueError, KeyError):
            return "the video could not be transcoded"

    def request(self, sha256: str, source: Callable[[], Path]) -> bool:
        """Queue a build unless the stream exists, is queued or failed; False when the queue
        is full (the caller answers 503)."""
        if self.state(sha256) in (StreamState.ready, StreamState.failed):
            return True
        with self._lock:
            if sha256 in self._pending:
                return True
            if len(self._pending) >= self.max_queued:
                return False
            self._pending.add(sha256)
        self._pool.submit(self._build, sha256, source)
        return True

    def _build(self, sha256: str, source: Callable[[], Path]) -> None:
        try:
            for attempt in range(1, self.attempts + 1):
                if self._attempt(sha256, source(), attempt):
                    return
        except Exception as exc:  # never let a worker thread die silently
            log.exception("stream build crashed", extra={"sha256": sha256})
            self._fail(sha256, f"internal error: {type(exc).__name__}")
        finally:
            with self._lock:
                self._pending.discard(sha256)

    def _attempt(self, sha256: str, src: Path, attempt: int) -> bool:
        """One try; True when finished (made, or failed for good)."""
        work = self.root / f"{WORK_PREFIX}{sha256}-{uuid.uuid4().hex[:8]}"
        work.mkdir()
        try:
            hls.build(src, work, self.rungs, timeout=self.timeout_s, stop=self._stop)
            self._publish(sha256, work, src)
            log.info("video stream made", extra={"sha256": sha256, "attempt": attempt})
            return True
        except hls.Cancelled:
            return True
        except MediaToolError as exc:
            log.warning(
                "video stream attempt failed",
                extra={"sha256": sha256, "attempt": attempt, "error": str(exc)},
            )
            if attempt == self.attempts:
                self._fail(sha256, f"{exc} ({attempt} attempts)")
                return True
            return False
        except (MediaDecodeError, OSError) as exc:
            self._fail(sha256, str(exc))
            return True
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _publish(self, sha256: str, work: Path, src: Path) -> None:
        target = self.folder(sha256)
        if target.exists() or not src.exists():  # made meanwhile, or the file was deleted
            return
        os.replace(work, target)
        self._failed_marker(sha256).unlink(missing_ok=True)

    def _fail(self, sha256: str, error: str) -> None:
        log.warning("video stream failed", extra={"sha256": sha256, "error": error})
        self._failed_marker(sha256).write_text(json.dumps({"error": error}))

    def _remove_leftovers(self) -> None:
        for path in self.root.glob(f"{WORK_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)
