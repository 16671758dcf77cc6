"""Queue rules for workers: claim, heartbeat, complete (through the task's sink), fail, reap."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from medianest.common.errors import Conflict
from medianest.inference import events
from medianest.inference.models import Job, JobStatus
from medianest.inference.repository import queue
from medianest.inference.schemas import (
    ClaimedJob,
    ClaimRequest,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    HeartbeatResponse,
    JobResponse,
    ReportOutcome,
    ReportRequest,
    ReportResponse,
)
from medianest.inference.service.jobs import to_response
from medianest.inference.service.runtime import Runtime
from medianest.inference.tasks import InvalidResult, SinkContext

log = logging.getLogger("medianest.inference.worker_api")


def claim(session: Session, rt: Runtime, req: ClaimRequest) -> list[ClaimedJob]:
    limit = min(req.max_jobs, rt.settings.claim_max_jobs)
    task_types = req.task_types or None
    claimed = queue.claim(session, req.worker_id, task_types, limit, rt.lease_ms)
    if rt.touch_due(req.worker_id):  # idle long-polls must not write on every round
        queue.touch_worker(session, req.worker_id)
    for job in claimed:
        events.stage(session, events.job_event("started", job, status="processing"))
    return claimed


def _held(session: Session, job_id: str, worker_id: str, attempt: int | None) -> Job:
    job = queue.lease_holder(session, job_id, worker_id, attempt)
    if job is None:
        raise Conflict("lease lost: the job is not held by this worker")
    return job


def heartbeat(
    session: Session, rt: Runtime, job_id: str, req: HeartbeatRequest
) -> HeartbeatResponse:
    job = _held(session, job_id, req.worker_id, req.attempt)
    if _overran(rt, job):
        # Heartbeats alone must not hold a job forever: a task stuck in a loop or a deadlock
        # keeps its heartbeat thread alive. Take the job back (retried, or error when out of
        # attempts) and tell the worker to drop it; its late result is refused (lease lost).
        limit = rt.settings.max_run_s
        _failure(session, rt, job, f"ran longer than max_run_s ({limit:g} s); task hung?")
        return HeartbeatResponse(lease_expires_at=queue.now_ms(), cancel_requested=True)
    moved = req.progress is not None and req.progress != job.progress
    queue.extend_lease(job, rt.lease_ms, req.progress)
    if rt.touch_due(req.worker_id):
        queue.touch_worker(session, req.worker_id)
    if moved and job.status == JobStatus.processing.value:
        events.stage(session, events.job_event("progress", job, progress=job.progress))
    assert job.lease_expires_at is not None
    return HeartbeatResponse(
        lease_expires_at=job.lease_expires_at, cancel_requested=job.cancel_requested
    )


def _overran(rt: Runtime, job: Job) -> bool:
    if job.status != JobStatus.processing.value or job.started_at is None:
        return False
    return queue.now_ms() - job.started_at > rt.settings.max_run_s * 1000


def complete(session: Session, rt: Runtime, job_id: str, req: CompleteRequest) -> JobResponse:
    job = _held(session, job_id, req.worker_id, req.attempt)
    if job.status == JobStatus.cancelled.value:
        return _drop_cancelled(session, job)
    task = rt.task(job.task_type)
    try:
        with session.begin_nested():  # a refused result leaves none of its writes behind
            stored = task.sink.store(SinkContext(session, rt.resources), job, req.result)
    except InvalidResult as exc:
        return _final_failure(session, job, f"invalid result: {exc}")
    except Exception as exc:
        log.exception("result sink failed", extra={"job_id": job.id})
        return _failure(session, rt, job, f"result could not be stored: {type(exc).__name__}")
    job.result = stored
    queue.finish(job, JobStatus.completed)
    queue.close_attempt(session, job.id, job.attempts, "completed")
    events.stage(session, events.job_event("completed", job))
    return to_response(job)


def fail(session: Session, rt: Runtime, job_id: str, req: FailRequest) -> JobResponse:
    job = _held(session, job_id, req.worker_id, req.attempt)
    if job.status == JobStatus.cancelled.value:
        return _drop_cancelled(session, job)
    if not req.retryable:
        return _final_failure(session, job, req.error)
    return _failure(session, rt, job, req.error)


def report(session: Session, rt: Runtime, req: ReportRequest) -> ReportResponse:
    """Several jobs' outcomes in one transaction; each is accepted or refused on its own."""
    outcomes = []
    for item in req.reports:
        try:
            if item.error is not None:
                fail_req = FailRequest(worker_id=req.worker_id, attempt=item.attempt,
                                       error=item.error, retryable=item.retryable)  # fmt: skip
                job = fail(session, rt, item.job_id, fail_req)
            else:
                done = CompleteRequest(
                    worker_id=req.worker_id, attempt=item.attempt, result=item.result
                )
                job = complete(session, rt, item.job_id, done)
        except Conflict as exc:
            outcomes.append(ReportOutcome(job_id=item.job_id, accepted=False, detail=exc.detail))
            continue
        outcomes.append(ReportOutcome(job_id=item.job_id, accepted=True, status=job.status))
    return ReportResponse(outcomes=outcomes)


def _failure(session: Session, rt: Runtime, job: Job, error: str) -> JobResponse:
    """Retry with exponential backoff while attempts remain; then the job stays in error."""
    if job.attempts >= job.max_attempts:
        return _final_failure(session, job, error)
    delay = queue.backoff_ms(rt.settings.retry_base_s, job.attempts)
    queue.close_attempt(session, job.id, job.attempts, "retry")
    queue.requeue(job, queue.now_ms() + delay, error)
    events.stage(session, events.job_event("failed", job, error_message=error, retrying=True))
    return to_response(job)


def _final_failure(session: Session, job: Job, error: str) -> JobResponse:
    queue.finish(job, JobStatus.error, error)
    queue.close_attempt(session, job.id, job.attempts, "failed")
    events.stage(session, events.job_event("failed", job, error_message=error, retrying=False))
    return to_response(job)


def _drop_cancelled(session: Session, job: Job) -> JobResponse:
    response = to_response(job)
    queue.close_attempt(session, job.id, job.attempts, "cancelled")
    session.delete(job)
    return response


def reap(session: Session) -> int:
    """Return jobs with expired leases to the queue (counting the attempt) or to error."""
    expired = queue.expired_leases(session)
    for job in expired:
        queue.close_attempt(session, job.id, job.attempts, "expired")
        if job.status == JobStatus.cancelled.value:
            session.delete(job)
            continue
        job.lease_expiries += 1
        if job.attempts >= job.max_attempts:
            message = (
                f"lease expired {job.lease_expiries} times (gave up after {job.attempts} attempts)"
            )
            _final_failure(session, job, message)
        else:
            queue.requeue(job, queue.now_ms(), f"lease expired (attempt {job.attempts})")
            events.stage(session, events.job_event("queued", job, reason="lease expired"))
    if expired:
        log.info("reaped expired leases", extra={"count": len(expired)})
    return len(expired)
