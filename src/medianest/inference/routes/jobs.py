"""Job API for clients (seed-compatible): queue, read, list, cancel, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from medianest.common.pagination import Page, PageParams
from medianest.common.security import InferenceUser
from medianest.inference.models import JobStatus
from medianest.inference.routes.deps import ReadSession, RuntimeDep, WriteSession
from medianest.inference.schemas import JobCreate, JobResponse
from medianest.inference.service import jobs as service

router = APIRouter(prefix="/job", tags=["jobs"])


@router.post("/{task_type}", status_code=status.HTTP_201_CREATED, response_model=JobResponse)
def create_job(
    task_type: str,
    body: JobCreate,
    response: Response,
    session: WriteSession,
    rt: RuntimeDep,
    _: InferenceUser,
    force: bool = False,
) -> JobResponse:
    """Queue a job (200 with the active job if one exists; force=true replaces it)."""
    job, created = service.create_job(session, rt, task_type, body, force=force)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.to_response(job)


@router.get("/", response_model=Page[JobResponse])
def list_jobs(
    session: ReadSession,
    _: InferenceUser,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    status: JobStatus | None = None,
    task_type: str | None = None,
    media_store_id: int | None = None,
) -> Page[JobResponse]:
    """List jobs, newest first, filtered by status, task type or media id."""
    params = PageParams(page=page, page_size=page_size)
    return service.list_jobs(session, params, status, task_type, media_store_id)


@router.get("/{job_id}", response_model=JobResponse)
def get_job(job_id: str, session: ReadSession, _: InferenceUser) -> JobResponse:
    """Read one job with its status, progress, attempts and result."""
    return service.to_response(service.get_job(session, job_id))


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel_job(job_id: str, session: WriteSession, _: InferenceUser) -> Response:
    """Cancel and remove a job (a running job stops at its next heartbeat)."""
    service.cancel_job(session, job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{job_id}/retry", response_model=JobResponse)
def retry_job(job_id: str, session: WriteSession, _: InferenceUser) -> JobResponse:
    """Queue a failed or cancelled job again with fresh attempts."""
    return service.to_response(service.retry_job(session, job_id))
