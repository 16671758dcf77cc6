"""Admin endpoints: read-auth switch and the orphan sweep."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from medianest.common.security import Admin
from medianest.media_store.routes.deps import Auditor, Ctx, ReadSession, WriteSession
from medianest.media_store.schemas import (
    AuditRunRead,
    AuditTrigger,
    ReadAuthConfig,
    ReadAuthUpdate,
    StorageReport,
    SweepResult,
    ThumbhashBackfill,
)
from medianest.media_store.service import audit, maintenance, settings_flag, storage_report

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/config", response_model=ReadAuthConfig)
def get_config(_: Admin, session: ReadSession) -> ReadAuthConfig:
    """Current service configuration."""
    return ReadAuthConfig(read_auth_enabled=settings_flag.read_auth_enabled(session))


@router.put("/config/read-auth", response_model=ReadAuthConfig)
def set_read_auth(
    payload: ReadAuthUpdate,
    request: Request,
    _: Admin,
    session: WriteSession,
    tasks: BackgroundTasks,
) -> ReadAuthConfig:
    """Turn the read permission requirement on or off."""
    settings_flag.set_read_auth(session, payload.enabled)
    request.app.state.read_auth_required.invalidate()
    tasks.add_task(request.app.state.read_auth_required.invalidate)  # again, after the commit
    return ReadAuthConfig(read_auth_enabled=payload.enabled)


@router.post(
    "/thumbhash",
    response_model=ThumbhashBackfill,
    responses={
        401: {"description": "missing or invalid token"},
        403: {"description": "not an admin"},
        422: {"description": "invalid query parameters"},
    },
)
def backfill_thumbhashes(
    _: Admin,
    session: WriteSession,
    ctx: Ctx,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> ThumbhashBackfill:
    """Compute missing ThumbHash placeholders (media stored before they existed), one batch."""
    return maintenance.backfill_thumbhashes(session, ctx.storage, after_id, limit)


@router.post("/sweep", response_model=SweepResult)
async def sweep_orphans(
    request: Request,
    _: Admin,
    min_age_s: Annotated[float | None, Query(ge=0)] = None,
) -> SweepResult:
    """Remove files, renditions and temp files nothing references (older than ``min_age_s``)."""
    settings = request.app.state.settings
    age = settings.sweep_min_age_s if min_age_s is None else min_age_s
    state = request.app.state
    return await run_in_threadpool(maintenance.sweep, state.db, state.store.storage, age)


@router.get("/storage", response_model=StorageReport)
def get_storage(_: Admin, session: ReadSession, ctx: Ctx) -> StorageReport:
    """Bytes and files used by originals, trash, old versions, renditions, streams and temp."""
    return storage_report.report(session, ctx.storage)


@router.post(
    "/audit",
    response_model=AuditRunRead,
    status_code=202,
    responses={409: {"description": "an audit is already queued or running"}},
)
def start_audit(user: Admin, auditor: Auditor) -> AuditRunRead:
    """Start an integrity audit: every original re-hashed; follow it at /admin/audit/{id}."""
    return auditor.request(AuditTrigger.manual, user.id)


@router.get(
    "/audit/latest",
    response_model=AuditRunRead,
    responses={404: {"description": "no audit has run yet"}},
)
def latest_audit(_: Admin, session: ReadSession) -> AuditRunRead:
    """The newest audit (running or finished) with its progress and findings."""
    return audit.latest(session)


@router.get(
    "/audit/{audit_id}",
    response_model=AuditRunRead,
    responses={404: {"description": "no such audit"}},
)
def get_audit(
    audit_id: Annotated[int, Path(ge=1, le=2**31 - 1)], _: Admin, session: ReadSession
) -> AuditRunRead:
    """One audit with its progress and (up to 1,000) findings."""
    return audit.get(session, audit_id)
