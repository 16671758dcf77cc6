"""Job rules for clients: queue (once per active media+task), read, list, cancel, retry."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medianest.common.errors import Conflict, NotFound, ServiceUnavailable, found
from medianest.common.pagination import Page, PageParams, Pagination
from medianest.inference import events
from medianest.inference.models import Job, JobStatus
from medianest.inference.repository import jobs as repository
from medianest.inference.repository import queue
from medianest.inference.schemas import JobCreate, JobResponse
from medianest.inference.service.runtime import Runtime
from medianest.inference.store_client import StoreUnavailable


def to_response(job: Job) -> JobResponse:
    return JobResponse(
        job_id=job.id, task_type=job.task_type, media_store_id=job.media_store_id,
        status=JobStatus(job.status), priority=job.priority, created_at=job.created_at,
        started_at=job.started_at, completed_at=job.completed_at,
        error_message=job.error_message, result=job.result, attempts=job.attempts,
        max_attempts=job.max_attempts, progress=job.progress, worker_id=job.worker_id,
        run_after=job.run_after, cancel_requested=job.cancel_requested,
    )  # fmt: skip


def ensure_media_exists(rt: Runtime, media_store_id: int) -> None:
    if not rt.settings.check_media_exists or rt.store is None:
        return
    try:
        entity = rt.store.entity(media_store_id)
    except StoreUnavailable as exc:
        raise ServiceUnavailable(str(exc), headers={"Retry-After": "5"}) from exc
    if entity is None:
        raise NotFound(f"media {media_store_id} not found in the media store")


def create_job(
    session: Session, rt: Runtime, task_type: str, body: JobCreate, *, force: bool = False
) -> tuple[Job, bool]:
    """Queue a job; returns (job, created). An active job for the same media+task is returned."""
    rt.task(task_type)
    ensure_media_exists(rt, body.media_store_id)  # HTTP first: no DB transaction is open yet
    if force:
        existing = repository.active_job(session, task_type, body.media_store_id)
        if existing is not None:
            cancel(session, existing)
    for _ in range(3):  # an active job may finish between our insert and our select
        job = enqueue(session, rt, task_type, body.media_store_id, body.priority)
        if job is not None:
            return job, True
        existing = repository.active_job(session, task_type, body.media_store_id)
        if existing is not None:
            return existing, False
    raise Conflict("could not queue the job, try again")


def enqueue(
    session: Session, rt: Runtime, task_type: str, media_store_id: int, priority: int = 5
) -> Job | None:
    """Insert a pending job and stage its ``queued`` event; None if an active one exists."""
    job = repository.insert_job(
        session, task_type, media_store_id, priority, rt.settings.max_attempts
    )
    if job is not None:
        events.stage(session, events.job_event("queued", job))
    return job


def get_job(session: Session, job_id: str) -> Job:
    return found(repository.get_job(session, job_id), "job not found")


def list_jobs(
    session: Session,
    params: PageParams,
    status: JobStatus | None,
    task_type: str | None,
    media_store_id: int | None,
) -> Page[JobResponse]:
    jobs, total = repository.list_jobs(
        session,
        status=status.value if status else None,
        task_type=task_type,
        media_store_id=media_store_id,
        offset=params.offset,
        limit=params.page_size,
    )
    return Page[JobResponse](
        items=[to_response(j) for j in jobs],
        pagination=Pagination.build(params.page, params.page_size, total),
    )


def cancel_job(session: Session, job_id: str) -> None:
    job = repository.get_job(session, job_id, lock=True)
    if job is None:
        raise NotFound("job not found")
    cancel(session, job)


def cancel(session: Session, job: Job) -> None:
    """Pending or finished: delete now. Running: mark cancelled; the worker learns it at its next
    heartbeat and the row goes when it reports (or when its lease expires)."""
    was_active = job.status in (JobStatus.pending.value, JobStatus.processing.value)
    if job.status == JobStatus.processing.value:
        job.status = JobStatus.cancelled.value
        job.cancel_requested = True
        job.updated_at = queue.now_ms()
    else:
        session.delete(job)
    session.flush()
    if was_active:
        events.stage(session, events.job_event("cancelled", job, status="cancelled"))


def retry_job(session: Session, job_id: str) -> Job:
    job = repository.get_job(session, job_id, lock=True)
    if job is None:
        raise NotFound("job not found")
    if job.status not in (JobStatus.error.value, JobStatus.cancelled.value):
        raise Conflict(f"only failed jobs can be retried (status is {job.status})")
    _reset(job)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("an active job exists for this media and task type") from exc
    events.stage(session, events.job_event("queued", job))
    return job


def _reset(job: Job) -> None:
    now = queue.now_ms()
    job.status = JobStatus.pending.value
    job.attempts = job.lease_expiries = job.progress = 0
    job.run_after = job.updated_at = now
    job.cancel_requested = False
    job.worker_id = job.lease_expires_at = job.started_at = job.completed_at = None
    job.error_message = None
    job.result = None
