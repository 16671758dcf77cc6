"""Operator views: queue statistics, cleanup of finished jobs, health."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from medianest.inference.repository import jobs as repository
from medianest.inference.repository import queue
from medianest.inference.schemas import CleanupResponse, HealthResponse, StatsResponse, WorkerInfo
from medianest.inference.service.runtime import Runtime


def stats(session: Session) -> StatsResponse:
    counts = repository.status_counts(session)
    ready, oldest = repository.pending_summary(session)
    age = round((queue.now_ms() - oldest) / 1000, 3) if oldest is not None else None
    workers = [
        WorkerInfo(
            worker_id=w.worker_id, first_seen_at=w.first_seen_at, last_seen_at=w.last_seen_at
        )
        for w in repository.workers_seen(session)
    ]
    return StatsResponse(
        counts=counts,
        queue_depth=counts.get("pending", 0),
        ready=ready,
        oldest_pending_age_s=age,
        workers=workers,
    )


VECTOR_TASKS = ("image_embedding", "face_embedding")


def queue_vector_rebuild(session: Session, max_attempts: int) -> int:
    """Queue the vector-producing tasks again for every media item they completed for (after a
    restore: vectors are derived data and are recomputed rather than backed up)."""
    pairs = repository.media_with_completed(session, VECTOR_TASKS)
    return repository.insert_jobs_bulk(session, [(t, m, 5) for t, m in pairs], max_attempts)


def cleanup(session: Session, older_than_s: int) -> CleanupResponse:
    deleted = repository.delete_finished_before(session, queue.now_ms() - older_than_s * 1000)
    return CleanupResponse(deleted=deleted, total=sum(deleted.values()))


def health(session: Session, rt: Runtime) -> HealthResponse:
    try:
        session.execute(text("SELECT 1"))
        depth: int | None = repository.queue_depth(session)
        database = "ok"
    except Exception as exc:
        depth, database = None, f"unavailable: {type(exc).__name__}"
    store = "not configured"
    if rt.store is not None:
        store = "ok" if rt.store.ping() else "unreachable"
    vector = "open" if rt.resources.opened("vector_store") else "not opened"
    status = "ok" if database == "ok" and store != "unreachable" else "degraded"
    return HealthResponse(
        status=status, database=database, vector_store=vector, media_store=store, queue_depth=depth
    )
