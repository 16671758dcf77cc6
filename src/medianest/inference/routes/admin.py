"""Admin and health endpoints, the banner, and the job event stream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from medianest.common.app import banner
from medianest.common.demo import health_auth
from medianest.common.events import Event, sse_stream
from medianest.common.security import Admin, InferenceUser
from medianest.contracts.errors import ErrorBody
from medianest.inference.routes.deps import (
    Events,
    OptionalMedia,
    ReadSession,
    RuntimeDep,
    WriteSession,
)
from medianest.inference.schemas import CleanupResponse, HealthResponse, StatsResponse
from medianest.inference.service import admin as service

router = APIRouter()


@router.get("/", tags=["meta"])
def root() -> dict[str, Any]:
    """Service banner."""
    return banner("inference")


@router.get(
    "/health",
    response_model=HealthResponse,
    tags=["meta"],
    responses={503: {"model": HealthResponse | ErrorBody, "description": "the database is down"}},
)
def health(
    session: ReadSession, rt: RuntimeDep, request: Request, response: Response
) -> HealthResponse:
    """Database, vector store and media store reachability, queue depth (public)."""
    result = service.health(session, rt).model_copy(update=health_auth(request.app.state.settings))
    if result.database != "ok":
        response.status_code = 503
    return result


@router.get("/admin/stats", response_model=StatsResponse, tags=["admin"])
def stats(session: ReadSession, _: Admin) -> StatsResponse:
    """Job counts per status, queue depth, oldest pending age and workers seen."""
    return service.stats(session)


@router.delete("/admin/cleanup", response_model=CleanupResponse, tags=["admin"])
def cleanup(
    session: WriteSession,
    _: Admin,
    older_than_s: Annotated[int, Query(ge=0, le=100 * 365 * 86400)] = 7 * 24 * 3600,
) -> CleanupResponse:
    """Delete finished jobs (completed, error, cancelled) older than older_than_s seconds."""
    return service.cleanup(session, older_than_s)


@router.get("/events", tags=["events"], response_class=StreamingResponse)
async def events(
    request: Request,
    _: InferenceUser,
    broadcaster: Events,
    job_id: Annotated[str | None, Query(max_length=64)] = None,
    media_store_id: OptionalMedia = None,
) -> StreamingResponse:
    """Job lifecycle events as Server-Sent Events, optionally for one job or media item."""

    def accept(event: Event) -> bool:
        if job_id is not None and event.get("job_id") != job_id:
            return False
        return media_store_id is None or event.get("media_store_id") == media_store_id

    stream = sse_stream(
        broadcaster,
        request.is_disconnected,
        accept,
        event_name=lambda e: str(e.get("event", "message")),
    )
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
