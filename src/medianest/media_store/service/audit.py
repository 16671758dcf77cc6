"""The integrity audit: every stored original re-hashed and compared with its name (its sha256).

Originals are content-addressed, so a file whose bytes no longer hash to its name has rotted (or
was altered). The audit lists missing files (a row uses them, the disk lacks them), corrupt ones
(hash mismatch) and orphans (on disk, no row uses them, older than the sweep's grace period),
keeps the result in the database, and marks missing and corrupt content in ``file_integrity``:
the file route refuses marked content (409) until a later audit finds it intact again (restored
from a backup) or the same bytes are uploaded again (``repair_on_upload``).

One audit at a time across every process of the service: a run is created under a database lock
only when no run is active; a run whose process died (no heartbeat for ``STALE_S``) is marked
interrupted when the next one is asked for. Runs execute in a background thread of the process
that created them, scheduled every ``interval_h`` hours (0: never) and on demand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.common.errors import Conflict, NotFound
from medianest.media_store import audit_repository as audit_repo
from medianest.media_store import repository as repo
from medianest.media_store.audit_repository import Content
from medianest.media_store.feed import now_ms
from medianest.media_store.models import AuditFinding, AuditRun, FileIntegrity
from medianest.media_store.schemas import (
    AuditFindingRead,
    AuditProgress,
    AuditRunRead,
    AuditStatus,
    AuditTrigger,
    FindingKind,
)
from medianest.media_store.service.ingest import lock_content
from medianest.media_store.storage import FileStorage, Storage
from medianest.media_store.uploaded import UploadedFile

log = logging.getLogger("medianest.media_store.audit")

STALE_S = 120.0  # a running audit silent this long belongs to a dead process
PROGRESS_EVERY_S = 1.0
FINDINGS_SHOWN = 1000
_CHUNK = 1024 * 1024
_AUDIT_LOCK = 0x4D4E4155  # "MNAU": one audit creation at a time (PostgreSQL advisory lock)
_SCHEDULE_SINCE = "audit_schedule_since"


class Interrupted(Exception):
    """The service is shutting down."""


def sha256_of(path: Path, stop: threading.Event) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if stop.is_set():
                raise Interrupted
            digest.update(chunk)
    return digest.hexdigest()


def to_read(session: Session, run: AuditRun) -> AuditRunRead:
    shown = audit_repo.findings(session, run.id, FINDINGS_SHOWN)
    total = run.missing + run.corrupt + run.orphans
    fraction = run.bytes_checked / run.bytes_total if run.bytes_total else 0.0
    if run.status == AuditStatus.done:
        fraction = 1.0
    return AuditRunRead(
        id=run.id,
        status=AuditStatus(run.status),
        trigger=AuditTrigger(run.trigger),
        requested_by=run.requested_by,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        progress=AuditProgress(
            files_total=run.files_total,
            files_checked=run.files_checked,
            bytes_total=run.bytes_total,
            bytes_checked=run.bytes_checked,
            fraction=round(fraction, 4),
        ),
        missing=run.missing,
        corrupt=run.corrupt,
        orphans=run.orphans,
        error=run.error,
        findings=[_finding(f) for f in shown],
        findings_truncated=total > len(shown),
    )


def _finding(row: AuditFinding) -> AuditFindingRead:
    return AuditFindingRead(
        kind=FindingKind(row.kind),
        sha256=row.sha256,
        path=row.path,
        size=row.size,
        actual_sha256=row.actual_sha256,
        entity_ids=json.loads(row.entity_ids),
    )


def get(session: Session, run_id: int) -> AuditRunRead:
    run = audit_repo.get_run(session, run_id)
    if run is None:
        raise NotFound(f"audit {run_id} not found")
    return to_read(session, run)


def latest(session: Session) -> AuditRunRead:
    run = audit_repo.latest_run(session)
    if run is None:
        raise NotFound("no audit has run yet")
    return to_read(session, run)


# ------------------------------------------------------------------ serving and repair


def check_servable(session: Session, sha256: str, entity_id: int) -> None:
    """Refuse content an audit found corrupt (or missing) until it is repaired or re-verified."""
    bad = audit_repo.integrity_mark(session, sha256)
    if bad is not None:
        raise Conflict(
            f"the file of entity {entity_id} failed its integrity check (audit {bad.run_id}: "
            f"{bad.status}); it is not served until restored or uploaded again"
        )


def repair_on_upload(
    session: Session, read_session: Session, storage: FileStorage, upload: UploadedFile
) -> bool:
    """If ``upload`` is content marked bad, put the verified bytes in place and clear the mark.

    The mark is looked up on the read session first: a duplicate upload of healthy content
    never takes the write lock.
    """
    if audit_repo.integrity_mark(read_session, upload.sha256) is None:
        return False
    lock_content(session, upload.sha256)
    if audit_repo.integrity_mark(session, upload.sha256) is None:
        return False
    if isinstance(storage, Storage):  # marks exist only where the audit runs: local files
        storage.original(upload.sha256).unlink(missing_ok=True)
    storage.place_original(upload.path, upload.sha256)
    audit_repo.clear_marks(session, [upload.sha256])
    log.warning("content repaired by an upload of the same bytes", extra={"sha256": upload.sha256})
    return True


def forget_damage(session: Session, storage: FileStorage, sha256: str) -> None:
    """Before verified bytes of ``sha256`` are stored (content lock held): drop a damaged copy,
    so the new bytes take its place instead of being discarded as "already stored"."""
    if audit_repo.integrity_mark(session, sha256) is not None:
        if isinstance(storage, Storage):
            storage.original(sha256).unlink(missing_ok=True)
        audit_repo.clear_marks(session, [sha256])


# ------------------------------------------------------------------ runs


@dataclass
class _Scan:
    content: dict[str, Content]
    to_hash: list[str]
    missing: list[str]
    orphans: dict[str, Path]


class AuditRunner:
    """Starts audits (on demand and on schedule) and runs them in background threads."""

    def __init__(
        self, db: Database, storage: Storage | None, interval_h: float, orphan_min_age_s: float
    ) -> None:
        self.db = db
        self.storage = storage  # None: files are not on a local disk (S3): no audit yet
        self.interval_s = interval_h * 3600
        self.orphan_min_age_s = orphan_min_age_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _local(self) -> Storage:
        if self.storage is None:
            raise Conflict("the integrity audit reads local files; it is not available on S3 yet")
        return self.storage

    def start(self) -> None:
        if self.interval_s > 0 and self.storage is not None:
            self._spawn(self._schedule_loop, "audit-schedule")

    def close(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def request(self, trigger: AuditTrigger, user_id: int | None) -> AuditRunRead:
        """Create a run and start it; Conflict when one is already active."""
        self._local()
        with self.db.sessions() as session, session.begin():
            run = self._create(session, trigger, user_id)
            read = to_read(session, run)
        self._spawn(lambda: self._execute(read.id), f"audit-{read.id}")
        return read

    def _spawn(self, target: object, name: str) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _create(self, session: Session, trigger: AuditTrigger, user_id: int | None) -> AuditRun:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK})
        active = audit_repo.active_run(session)
        now = now_ms()
        if active is not None and now - active.heartbeat_at > STALE_S * 1000:
            audit_repo.update_run(
                session, active.id, status=AuditStatus.interrupted.value, finished_at=now,
                error="the process running it stopped",
            )  # fmt: skip
            active = None
        if active is not None:
            raise Conflict(f"audit {active.id} is already {active.status}")
        run = AuditRun(
            status=AuditStatus.queued.value, trigger=trigger.value, requested_by=user_id,
            created_at=now, heartbeat_at=now, files_total=0, files_checked=0, bytes_total=0,
            bytes_checked=0, missing=0, corrupt=0, orphans=0,
        )  # fmt: skip
        return audit_repo.add_run(session, run)

    def _schedule_loop(self) -> None:
        check_s = min(60.0, max(0.2, self.interval_s / 4))
        while not self._stop.wait(check_s):
            try:
                if self._due():
                    self.request(AuditTrigger.schedule, None)
            except Conflict:
                pass
            except Exception:
                log.exception("scheduling an audit failed")

    def _due(self) -> bool:
        with self.db.sessions() as session, session.begin():
            last = audit_repo.latest_run(session)
            if last is not None:
                since = last.created_at
            else:
                stored = repo.config_value(session, _SCHEDULE_SINCE)
                if stored is None:  # the first start: the first audit is one interval away
                    repo.set_config_value(session, _SCHEDULE_SINCE, str(now_ms()))
                    return False
                since = int(stored)
        return now_ms() - since >= self.interval_s * 1000

    def _update(self, run_id: int, **values: object) -> None:
        with self.db.sessions() as session, session.begin():
            audit_repo.update_run(session, run_id, heartbeat_at=now_ms(), **values)

    def _execute(self, run_id: int) -> None:
        try:
            self._run(run_id)
        except Interrupted:
            status, error = AuditStatus.interrupted, "the service shut down"
            self._update(run_id, status=status.value, finished_at=now_ms(), error=error)
        except Exception as exc:
            log.exception("audit failed", extra={"audit_id": run_id})
            error = f"{type(exc).__name__}: {exc}"
            self._update(run_id, status=AuditStatus.failed.value, finished_at=now_ms(), error=error)

    def _scan(self) -> _Scan:
        with self.db.read_sessions() as session:
            content = audit_repo.referenced_content(session)
        on_disk = {f.sha256: f for f in self._local().originals()}
        orphans = {
            sha: f.path
            for sha, f in on_disk.items()
            if f.path is not None and sha not in content and f.age_s >= self.orphan_min_age_s
        }
        to_hash = sorted(sha for sha in content if sha in on_disk)
        missing = sorted(sha for sha in content if sha not in on_disk)
        return _Scan(content, to_hash, missing, orphans)

    def _run(self, run_id: int) -> None:
        scan = self._scan()
        total = sum(scan.content[sha].size for sha in scan.to_hash)
        self._update(
            run_id, status=AuditStatus.running.value, started_at=now_ms(),
            files_total=len(scan.to_hash), bytes_total=total,
        )  # fmt: skip
        corrupt: dict[str, str] = {}
        intact: list[str] = []
        files = done_bytes = 0
        last_report = time.monotonic()
        for sha in scan.to_hash:
            path = self._local().original(sha)
            try:
                actual = sha256_of(path, self._stop)
            except FileNotFoundError:
                continue  # removed meanwhile (a delete); re-checked below
            if actual == sha:
                intact.append(sha)
            else:
                corrupt[sha] = actual
            files, done_bytes = files + 1, done_bytes + scan.content[sha].size
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                self._update(run_id, files_checked=files, bytes_checked=done_bytes)
                last_report = time.monotonic()
        self._update(run_id, files_checked=files, bytes_checked=done_bytes)
        self._finish(run_id, scan, corrupt, intact)

    def _finish(self, run_id: int, scan: _Scan, corrupt: dict[str, str], intact: list[str]) -> None:
        """Re-check every finding against the state now (rows and files change during a run)."""
        with self.db.sessions() as session, session.begin():
            still = audit_repo.referenced_content(session)
            missing = [s for s in scan.missing if s in still and not self._exists(s)]
            missing += [s for s in scan.to_hash if s in still and not self._exists(s)]
            bad = {
                s: actual for s, actual in corrupt.items() if s in still and self._still_corrupt(s)
            }
            orphans = {s: p for s, p in scan.orphans.items() if s not in still and p.exists()}
            findings = self._findings(run_id, still, missing, bad, orphans)
            audit_repo.add_findings(session, findings)
            self._mark(session, run_id, missing, bad, intact, set(still))
            audit_repo.update_run(
                session, run_id, status=AuditStatus.done.value, finished_at=now_ms(),
                heartbeat_at=now_ms(), missing=len(missing), corrupt=len(bad),
                orphans=len(orphans),
            )  # fmt: skip
        if missing or bad:
            log.error(
                "audit found damaged content",
                extra={"audit_id": run_id, "missing": len(missing), "corrupt": len(bad)},
            )

    def _exists(self, sha: str) -> bool:
        return self._local().original(sha).exists()

    def _still_corrupt(self, sha: str) -> bool:
        try:
            return sha256_of(self._local().original(sha), self._stop) != sha
        except FileNotFoundError:
            return False  # gone meanwhile: the missing check decides

    def _findings(
        self,
        run_id: int,
        content: dict[str, Content],
        missing: list[str],
        corrupt: dict[str, str],
        orphans: dict[str, Path],
    ) -> list[AuditFinding]:
        rel = self._local().relative_path
        rows = [
            AuditFinding(
                run_id=run_id, kind=FindingKind.missing.value, sha256=s, path=rel(s),
                size=content[s].size, entity_ids=audit_repo.entity_ids_json(content[s].entity_ids),
            )
            for s in missing
        ]  # fmt: skip
        rows += [
            AuditFinding(
                run_id=run_id, kind=FindingKind.corrupt.value, sha256=s, path=rel(s),
                size=content[s].size, actual_sha256=actual,
                entity_ids=audit_repo.entity_ids_json(content[s].entity_ids),
            )
            for s, actual in corrupt.items()
        ]  # fmt: skip
        rows += [
            AuditFinding(
                run_id=run_id, kind=FindingKind.orphan.value, sha256=s[:255],
                path=str(p.relative_to(self._local().root))[:255], size=_size(p), entity_ids="[]",
            )
            for s, p in orphans.items()
        ]  # fmt: skip
        return rows

    @staticmethod
    def _mark(
        session: Session,
        run_id: int,
        missing: list[str],
        corrupt: dict[str, str],
        intact: list[str],
        referenced: set[str],
    ) -> None:
        now = now_ms()
        for sha in missing:
            audit_repo.mark(session, FileIntegrity(
                sha256=sha, status="missing", actual_sha256=None, run_id=run_id, detected_at=now
            ))  # fmt: skip
        for sha, actual in corrupt.items():
            audit_repo.mark(session, FileIntegrity(
                sha256=sha, status="corrupt", actual_sha256=actual, run_id=run_id, detected_at=now
            ))  # fmt: skip
        healed = set(intact) - set(missing) - set(corrupt)
        gone = audit_repo.marked_shas(session) - referenced
        audit_repo.clear_marks(session, healed | gone)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
