"""Every select/insert/delete of the inference service outside the queue transitions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from medianest.inference.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    FollowerCursor,
    Job,
    JobAttempt,
    JobStatus,
    MediaState,
    WorkerSeen,
)
from medianest.inference.repository.queue import is_postgres, now_ms


def _insert(session: Session) -> Any:
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert

        return insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def insert_job(
    session: Session, task_type: str, media_store_id: int, priority: int, max_attempts: int
) -> Job | None:
    """Insert a pending job; None when an active job for (media, task) exists (the DB decides)."""
    now = now_ms()
    values = {
        "id": str(uuid.uuid4()), "task_type": task_type, "media_store_id": media_store_id,
        "priority": priority, "status": JobStatus.pending.value, "attempts": 0,
        "max_attempts": max_attempts, "lease_expiries": 0, "run_after": now, "progress": 0,
        "cancel_requested": False, "created_at": now, "updated_at": now,
    }  # fmt: skip
    stmt = _insert(session)(Job).values(**values).on_conflict_do_nothing()
    inserted = session.execute(stmt.returning(Job.id)).scalar_one_or_none()
    return session.get(Job, inserted) if inserted else None


def insert_jobs_bulk(
    session: Session, rows: Sequence[tuple[str, int, int]], max_attempts: int
) -> int:
    """Insert many (task_type, media_store_id, priority) jobs, skipping active duplicates."""
    now = now_ms()
    values = [
        {
            "id": str(uuid.uuid4()), "task_type": t, "media_store_id": m, "priority": p,
            "status": JobStatus.pending.value, "attempts": 0, "max_attempts": max_attempts,
            "lease_expiries": 0, "run_after": now, "progress": 0, "cancel_requested": False,
            "created_at": now + i, "updated_at": now,
        }
        for i, (t, m, p) in enumerate(rows)
    ]  # fmt: skip
    if not values:
        return 0
    result = session.execute(_insert(session)(Job).values(values).on_conflict_do_nothing())
    return int(getattr(result, "rowcount", 0) or 0)


def active_job(session: Session, task_type: str, media_store_id: int) -> Job | None:
    query = select(Job).where(
        Job.media_store_id == media_store_id,
        Job.task_type == task_type,
        Job.status.in_(ACTIVE_STATUSES),
    )
    return session.scalars(query.with_for_update()).first()


def get_job(session: Session, job_id: str, *, lock: bool = False) -> Job | None:
    query = select(Job).where(Job.id == job_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def list_jobs(
    session: Session,
    *,
    status: str | None,
    task_type: str | None,
    media_store_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Job], int]:
    query = select(Job)
    if status:
        query = query.where(Job.status == status)
    if task_type:
        query = query.where(Job.task_type == task_type)
    if media_store_id is not None:
        query = query.where(Job.media_store_id == media_store_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit)
    return list(session.scalars(page)), int(total)


def jobs_for_media(session: Session, media_store_id: int) -> list[Job]:
    query = select(Job).where(Job.media_store_id == media_store_id).with_for_update()
    return list(session.scalars(query))


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = {s.value: 0 for s in JobStatus}
    counts.update({status: int(n) for status, n in rows})
    return counts


def counts_by_task_status(session: Session) -> list[tuple[str, str, int]]:
    """(task_type, status, jobs) for every pair that has jobs."""
    query = select(Job.task_type, Job.status, func.count()).group_by(Job.task_type, Job.status)
    return [(task, status, int(n)) for task, status, n in session.execute(query)]


def media_with_completed(session: Session, task_types: Sequence[str]) -> list[tuple[str, int]]:
    """(task_type, media_store_id) pairs that have a completed job of one of ``task_types``."""
    query = (
        select(Job.task_type, Job.media_store_id)
        .where(Job.task_type.in_(task_types), Job.status == JobStatus.completed.value)
        .distinct()
        .order_by(Job.media_store_id)
    )
    return [(task, int(media)) for task, media in session.execute(query)]


def pending_summary(session: Session) -> tuple[int, int | None]:
    """(ready pending jobs, created_at of the oldest pending job)."""
    now = now_ms()
    ready = session.scalar(
        select(func.count()).where(Job.status == JobStatus.pending.value, Job.run_after <= now)
    )
    oldest = session.scalar(
        select(func.min(Job.created_at)).where(Job.status == JobStatus.pending.value)
    )
    return int(ready or 0), oldest


def queue_depth(session: Session) -> int:
    query = select(func.count()).where(Job.status == JobStatus.pending.value)
    return int(session.scalar(query) or 0)


def workers_seen(session: Session, limit: int = 100) -> list[WorkerSeen]:
    query = select(WorkerSeen).order_by(WorkerSeen.last_seen_at.desc()).limit(limit)
    return list(session.scalars(query))


def delete_finished_before(session: Session, cutoff: int) -> dict[str, int]:
    """Really delete finished jobs (and their audit rows) last changed before ``cutoff``."""
    old = (
        Job.status.in_(FINISHED_STATUSES),
        func.coalesce(Job.completed_at, Job.updated_at) < cutoff,
    )
    rows = session.execute(select(Job.status, func.count()).where(*old).group_by(Job.status))
    counts = {str(status): int(n) for status, n in rows}
    if counts:
        session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(select(Job.id).where(*old))))
        session.execute(delete(Job).where(*old).execution_options(synchronize_session=False))
    return counts


def attempts_of(session: Session, job_id: str) -> list[JobAttempt]:
    query = select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt)
    return list(session.scalars(query))


# ---------------------------------------------------------------- follower state


def get_cursor(session: Session, name: str, *, lock: bool = False) -> int:
    row = session.get(FollowerCursor, name, with_for_update=lock)
    return row.cursor if row else 0


def set_cursor(session: Session, name: str, cursor: int) -> None:
    row = session.get(FollowerCursor, name)
    if row is None:
        session.add(FollowerCursor(name=name, cursor=cursor, updated_at=now_ms()))
    else:
        row.cursor, row.updated_at = cursor, now_ms()


def media_md5(session: Session, media_store_id: int) -> str | None:
    row = session.get(MediaState, media_store_id)
    return row.md5 if row else None


def set_media_state(
    session: Session, media_store_id: int, md5: str | None, version: int | None
) -> None:
    row = session.get(MediaState, media_store_id)
    if row is None:
        session.add(
            MediaState(media_store_id=media_store_id, md5=md5, version=version, updated_at=now_ms())
        )
    else:
        row.md5, row.version, row.updated_at = md5, version, now_ms()


def forget_media(session: Session, media_store_id: int) -> None:
    session.execute(delete(MediaState).where(MediaState.media_store_id == media_store_id))
    stale = or_(JobAttempt.job_id.in_(select(Job.id).where(Job.media_store_id == media_store_id)))
    session.execute(delete(JobAttempt).where(stale))
