"""Queue rules for workers: claim, heartbeat, complete (through the task's sink), fail, reap."""

from __future__ import annotations

import logging
from contextlib import nullcontext

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
    return _complete_held(session, rt, job, req.result)


def _complete_held(
    session: Session,
    rt: Runtime,
    job: Job,
    result: object,
    closed: list[tuple[str, int, str]] | None = None,
) -> JobResponse:
    """Store the result and complete ``job``; ``closed`` collects the attempt to close (the
    caller closes a whole batch in one statement), else it is closed here."""
    if job.status == JobStatus.cancelled.value:
        return _drop_cancelled(session, job)
    task = rt.task(job.task_type)
    # A sink that writes rows runs in a savepoint, so a refused result leaves none of its writes
    # behind; one that only validates (``writes_rows = False``) needs no savepoint round trips.
    guard = session.begin_nested() if getattr(task.sink, "writes_rows", True) else nullcontext()
    try:
        with guard:
            stored = task.sink.store(SinkContext(session, rt.resources), job, result)
    except InvalidResult as exc:
        return _final_failure(session, job, f"invalid result: {exc}")
    except Exception as exc:
        log.exception("result sink failed", extra={"job_id": job.id})
        return _failure(session, rt, job, f"result could not be stored: {type(exc).__name__}")
    job.result = stored
    queue.finish(job, JobStatus.completed)
    if closed is None:
        queue.close_attempt(session, job.id, job.attempts, "completed")
    else:
        closed.append((job.id, job.attempts, "completed"))
    events.stage(session, events.job_event("completed", job, run_ms=_run_ms(job)))
    after_complete = getattr(task.sink, "after_complete", None)
    if callable(after_complete):  # e.g. queue the next job of a task that works in rounds
        session.flush()
        after_complete(SinkContext(session, rt.resources), job)
    return to_response(job)


def fail(session: Session, rt: Runtime, job_id: str, req: FailRequest) -> JobResponse:
    return _fail_held(session, rt, _held(session, job_id, req.worker_id, req.attempt), req)


def _fail_held(session: Session, rt: Runtime, job: Job, req: FailRequest) -> JobResponse:
    if job.status == JobStatus.cancelled.value:
        return _drop_cancelled(session, job)
    if not req.retryable:
        return _final_failure(session, job, req.error)
    return _failure(session, rt, job, req.error)


def report(session: Session, rt: Runtime, req: ReportRequest) -> ReportResponse:
    """Several jobs' outcomes in one transaction; each is accepted or refused on its own.

    Round trips per batch, not per job: the held jobs are read (and row-locked) in one SELECT,
    completed attempts are closed in one executemany, the job rows flush together."""
    held = queue.lease_holders(session, [item.job_id for item in req.reports], req.worker_id)
    closed: list[tuple[str, int, str]] = []
    outcomes = []
    for item in req.reports:
        job = held.get(item.job_id)
        if not queue.holds(job, item.attempt):
            detail = "lease lost: the job is not held by this worker"
            outcomes.append(ReportOutcome(job_id=item.job_id, accepted=False, detail=detail))
            continue
        assert job is not None
        if item.error is not None:
            fail_req = FailRequest(worker_id=req.worker_id, attempt=item.attempt,
                                   error=item.error, retryable=item.retryable)  # fmt: skip
            response = _fail_held(session, rt, job, fail_req)
        else:
            response = _complete_held(session, rt, job, item.result, closed)
        held.pop(item.job_id)  # a job reported twice in one batch: the second is refused
        outcomes.append(ReportOutcome(job_id=item.job_id, accepted=True, status=response.status))
    queue.close_attempts(session, closed)
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
    failed = events.job_event(
        "failed", job, error_message=error, retrying=False, run_ms=_run_ms(job)
    )
    events.stage(session, failed)
    return to_response(job)


def _run_ms(job: Job) -> int | None:
    """How long the final attempt ran (claim to outcome), for the job-duration metric."""
    if job.started_at is None or job.completed_at is None:
        return None
    return max(0, job.completed_at - job.started_at)


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
