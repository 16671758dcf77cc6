"""Job API for clients (seed-compatible): queue, read, list, cancel, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from medianest.common.openapi import errors, link, path_ref
from medianest.common.security import InferenceUser
from medianest.contracts.inference import JobCreate, JobResponse, JobStatus
from medianest.contracts.pages import Page, PageParams
from medianest.inference.routes.deps import (
    JobId,
    OptionalMedia,
    ReadSession,
    RuntimeDep,
    TaskType,
    WriteSession,
)
from medianest.inference.service import jobs as service

router = APIRouter(prefix="/job", tags=["jobs"])


READ_JOB = {
    "links": {
        "ReadJob": link(
            path_ref("/job/{job_id}"), "the queued job", job_id="$response.body#/job_id"
        )
    }
}


@router.post(
    "/{task_type}",
    status_code=status.HTTP_201_CREATED,
    response_model=JobResponse,
    responses={
        200: {"model": JobResponse, "description": "the active job already queued", **READ_JOB},
        201: READ_JOB,
        **errors(400, 404, 409),
    },
)
def create_job(
    task_type: TaskType,
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
    task_type: Annotated[str | None, Query(max_length=64)] = None,
    media_store_id: OptionalMedia = None,
) -> Page[JobResponse]:
    """List jobs, newest first, filtered by status, task type or media id."""
    params = PageParams(page=page, page_size=page_size)
    return service.list_jobs(session, params, status, task_type, media_store_id)


@router.get("/{job_id}", response_model=JobResponse, responses=errors(404))
def get_job(job_id: JobId, session: ReadSession, _: InferenceUser) -> JobResponse:
    """Read one job with its status, progress, attempts and result."""
    return service.to_response(service.get_job(session, job_id))


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def cancel_job(job_id: JobId, session: WriteSession, _: InferenceUser) -> Response:
    """Cancel and remove a job (a running job stops at its next heartbeat)."""
    service.cancel_job(session, job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{job_id}/retry", response_model=JobResponse, responses=errors(404, 409))
def retry_job(job_id: JobId, session: WriteSession, _: InferenceUser) -> JobResponse:
    """Queue a failed or cancelled job again with fresh attempts."""
    return service.to_response(service.retry_job(session, job_id))
