"""The queue's state transitions, each one SQL statement (or a few) in the caller's transaction.

Claim is a single ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``: on PostgreSQL the
sub-select takes ``FOR UPDATE SKIP LOCKED``, so any number of API processes hand out disjoint
jobs; on SQLite the write transaction is ``BEGIN IMMEDIATE`` (one writer at a time), which makes
the same statement atomic. Times are epoch ms computed here in Python.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Select, Table, and_, bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from medianest.contracts.inference import ClaimedJob
from medianest.inference.models import Job, JobAttempt, JobStatus, WorkerSeen

PENDING = JobStatus.pending.value
PROCESSING = JobStatus.processing.value
CANCELLED = JobStatus.cancelled.value


def now_ms() -> int:
    return int(time.time() * 1000)


def backoff_ms(base_s: float, attempts: int) -> int:
    """Retry delay after the ``attempts``-th failed attempt: base * 2^(attempts-1)."""
    return int(base_s * 1000 * (2 ** max(0, attempts - 1)))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(
    session: Session, worker_id: str, task_types: Sequence[str] | None, limit: int, lease_ms: int
) -> list[ClaimedJob]:
    """Lease up to ``limit`` ready jobs to ``worker_id``, highest priority then oldest first."""
    now = now_ms()
    candidates = _ready(now, task_types).limit(limit)
    if is_postgres(session):
        # A MATERIALIZED CTE runs the locking sub-select exactly once: inside ``IN (...)`` the
        # planner may rescan it, skip the rows this very UPDATE just changed, and take more.
        locked = candidates.with_for_update(skip_locked=True).cte("claimable")
        chosen = Job.id == locked.prefix_with("MATERIALIZED").c.id
    else:
        chosen = Job.id.in_(candidates)
    stmt = (
        update(Job)
        .where(chosen, Job.status == PENDING)
        .values(
            status=PROCESSING,
            worker_id=worker_id,
            attempts=Job.attempts + 1,
            lease_expires_at=now + lease_ms,
            started_at=now,
            updated_at=now,
            progress=0,
        )
        .returning(
            Job.id, Job.task_type, Job.media_store_id, Job.priority, Job.attempts,
            Job.max_attempts, Job.created_at, Job.lease_expires_at,
        )
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    rows = sorted(session.execute(stmt), key=lambda r: (-r.priority, r.created_at, r.id))
    jobs = [
        ClaimedJob(
            job_id=r.id, task_type=r.task_type, media_store_id=r.media_store_id,
            priority=r.priority, attempts=r.attempts, max_attempts=r.max_attempts,
            lease_expires_at=r.lease_expires_at, lease_s=lease_ms / 1000,
        )
        for r in rows
    ]  # fmt: skip
    if jobs:
        session.add_all(
            JobAttempt(job_id=j.job_id, attempt=j.attempts, worker_id=worker_id, claimed_at=now)
            for j in jobs
        )
    return jobs


# A literal, not a bound parameter: SQLite uses the partial index ``ix_jobs_ready`` only when the
# query states its WHERE clause (``status = 'pending'``) verbatim.
_IS_PENDING = text(f"jobs.status = '{PENDING}'")


def _ready(now: int, task_types: Sequence[str] | None) -> Select[tuple[str]]:
    query = select(Job.id).where(_IS_PENDING, Job.run_after <= now)
    if task_types:
        query = query.where(Job.task_type.in_(list(task_types)))
    return query.order_by(Job.priority.desc(), Job.created_at, Job.id)


def touch_worker(session: Session, worker_id: str) -> None:
    """Record that a worker was seen (one upsert; both dialects support ON CONFLICT)."""
    now = now_ms()
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(WorkerSeen).values(worker_id=worker_id, first_seen_at=now, last_seen_at=now)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["worker_id"], set_={"last_seen_at": now})
    )


def lease_holder(session: Session, job_id: str, worker_id: str, attempt: int | None) -> Job | None:
    """The job if ``worker_id`` (and the attempt, when given) still holds its lease; row-locked."""
    query = select(Job).where(
        Job.id == job_id,
        Job.worker_id == worker_id,
        Job.status.in_((PROCESSING, CANCELLED)),
    )
    if attempt is not None:
        query = query.where(Job.attempts == attempt)
    return session.scalars(query.with_for_update()).first()


def lease_holders(session: Session, job_ids: Sequence[str], worker_id: str) -> dict[str, Job]:
    """The jobs among ``job_ids`` that ``worker_id`` holds, row-locked, in ONE statement.

    The attempt is checked by the caller per job (see :func:`holds`)."""
    if not job_ids:
        return {}
    query = select(Job).where(
        Job.id.in_(list(job_ids)),
        Job.worker_id == worker_id,
        Job.status.in_((PROCESSING, CANCELLED)),
    )
    return {job.id: job for job in session.scalars(query.order_by(Job.id).with_for_update())}


def holds(job: Job | None, attempt: int | None) -> bool:
    return job is not None and (attempt is None or job.attempts == attempt)


def close_attempts(session: Session, closed: Sequence[tuple[str, int, str]]) -> None:
    """Close several attempts, ``(job_id, attempt, outcome)``, in one executemany."""
    if not closed:
        return
    table = cast(Table, JobAttempt.__table__)
    now = now_ms()
    session.execute(
        update(table)
        .where(
            table.c.job_id == bindparam("b_job"),
            table.c.attempt == bindparam("b_attempt"),
            table.c.outcome.is_(None),
        )
        .values(outcome=bindparam("b_outcome"), finished_at=now),
        [{"b_job": j, "b_attempt": a, "b_outcome": o} for j, a, o in closed],
    )


def extend_lease(job: Job, lease_ms: int, progress: int | None) -> None:
    now = now_ms()
    job.lease_expires_at = now + lease_ms
    job.updated_at = now
    if progress is not None:
        job.progress = progress


def close_attempt(session: Session, job_id: str, attempt: int, outcome: str) -> None:
    session.execute(
        update(JobAttempt)
        .where(
            JobAttempt.job_id == job_id,
            JobAttempt.attempt == attempt,
            JobAttempt.outcome.is_(None),
        )
        .values(outcome=outcome, finished_at=now_ms())
        .execution_options(synchronize_session=False)
    )


def expired_leases(session: Session, limit: int = 500) -> list[Job]:
    """Jobs in hand whose lease ran out (row-locked; skipped when another reaper holds them)."""
    query = (
        select(Job)
        .where(
            Job.status.in_((PROCESSING, CANCELLED)),
            and_(Job.lease_expires_at.is_not(None), Job.lease_expires_at < now_ms()),
        )
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def requeue(job: Job, run_after: int, error: str | None) -> None:
    now = now_ms()
    job.status = PENDING
    job.worker_id = None
    job.lease_expires_at = None
    job.run_after = run_after
    job.updated_at = now
    job.progress = 0
    if error is not None:
        job.error_message = error


def finish(job: Job, status: JobStatus, error: str | None = None) -> None:
    now = now_ms()
    job.status = status.value
    job.lease_expires_at = None
    job.completed_at = now
    job.updated_at = now
    if status is JobStatus.completed:
        job.progress = 100
        job.error_message = None
    elif error is not None:
        job.error_message = error


def delete_job(session: Session, job_id: str) -> None:
    session.execute(
        delete(Job).where(Job.id == job_id).execution_options(synchronize_session=False)
    )
