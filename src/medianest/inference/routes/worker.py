"""Worker API: claim (long-poll), heartbeat, complete, fail, batched report. Only the lease holder
may report."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from medianest.common.db import Database
from medianest.common.openapi import errors
from medianest.common.security import InferenceWorker
from medianest.inference.db import transaction
from medianest.inference.routes.deps import Db, JobId, RuntimeDep, Signal, WriteSession
from medianest.inference.schemas import (
    ClaimedJob,
    ClaimRequest,
    ClaimResponse,
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    HeartbeatResponse,
    JobResponse,
    ReportRequest,
    ReportResponse,
)
from medianest.inference.service import worker as service
from medianest.inference.service.runtime import Runtime

router = APIRouter(prefix="/worker", tags=["worker"])


@router.post("/claim", response_model=ClaimResponse)
async def claim(
    request: Request,
    body: ClaimRequest,
    rt: RuntimeDep,
    db: Db,
    signal: Signal,
    _: InferenceWorker,
) -> ClaimResponse:
    """Lease up to max_jobs ready jobs, waiting up to wait_s for work to appear."""
    deadline = time.monotonic() + min(body.wait_s, rt.settings.claim_max_wait_s)
    while True:  # no transaction is held while waiting: each attempt is its own short one
        jobs = await run_in_threadpool(_claim_once, db, rt, body)
        remaining = deadline - time.monotonic()
        if jobs or remaining <= 0 or await request.is_disconnected():
            return ClaimResponse(jobs=jobs)
        await signal.wait(min(1.0, remaining))


def _claim_once(db: Database, rt: Runtime, body: ClaimRequest) -> list[ClaimedJob]:
    if rt.reap_due():
        with transaction(db) as session:
            service.reap(session)
    with transaction(db) as session:
        return service.claim(session, rt, body)


@router.post("/jobs/{job_id}/heartbeat", response_model=HeartbeatResponse, responses=errors(409))
def heartbeat(
    job_id: JobId, body: HeartbeatRequest, session: WriteSession, rt: RuntimeDep, _: InferenceWorker
) -> HeartbeatResponse:
    """Extend the lease and learn whether the job was cancelled (409: lease lost)."""
    return service.heartbeat(session, rt, job_id, body)


@router.post("/jobs/{job_id}/complete", response_model=JobResponse, responses=errors(409))
def complete(
    job_id: JobId, body: CompleteRequest, session: WriteSession, rt: RuntimeDep, _: InferenceWorker
) -> JobResponse:
    """Store the result through the task's sink and complete the job (409: lease lost)."""
    return service.complete(session, rt, job_id, body)


@router.post("/jobs/{job_id}/fail", response_model=JobResponse, responses=errors(409))
def fail(
    job_id: JobId, body: FailRequest, session: WriteSession, rt: RuntimeDep, _: InferenceWorker
) -> JobResponse:
    """Report a failure; retryable ones are retried with backoff (409: lease lost)."""
    return service.fail(session, rt, job_id, body)


@router.post("/report", response_model=ReportResponse)
def report(
    body: ReportRequest, session: WriteSession, rt: RuntimeDep, _: InferenceWorker
) -> ReportResponse:
    """Complete or fail up to 100 jobs in one request and one transaction. Each report is
    accepted or refused (lease lost) on its own; a 503 means none was applied."""
    return service.report(session, rt, body)
