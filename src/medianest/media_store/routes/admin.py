"""Admin endpoints: read-auth switch and the orphan sweep."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query
from starlette.concurrency import run_in_threadpool

from medianest.common.openapi import errors
from medianest.common.security import Admin
from medianest.contracts.ids import MAX_ID
from medianest.media_store.routes import deps
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
def get_config(_: Admin, session: deps.ReadSession) -> ReadAuthConfig:
    """Current service configuration."""
    return ReadAuthConfig(read_auth_enabled=settings_flag.read_auth_enabled(session))


@router.put("/config/read-auth", response_model=ReadAuthConfig)
def set_read_auth(
    payload: ReadAuthUpdate,
    flag: deps.ReadAuth,
    _: Admin,
    session: deps.WriteSession,
    tasks: BackgroundTasks,
) -> ReadAuthConfig:
    """Turn the read permission requirement on or off."""
    settings_flag.set_read_auth(session, payload.enabled)
    flag.invalidate()
    tasks.add_task(flag.invalidate)  # again, after the commit
    return ReadAuthConfig(read_auth_enabled=payload.enabled)


@router.post(
    "/thumbhash",
    response_model=ThumbhashBackfill,
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
    _: Admin,
    settings: deps.StoreSettings,
    db: deps.Db,
    ctx: deps.Ctx,
    min_age_s: Annotated[float | None, Query(ge=0, le=10 * 365 * 86400)] = None,
) -> SweepResult:
    """Remove files, renditions and temp files nothing references (older than ``min_age_s``)."""
    age = settings.sweep_min_age_s if min_age_s is None else min_age_s
    return await run_in_threadpool(maintenance.sweep, db, ctx.storage, age)


@router.get("/storage", response_model=StorageReport)
def get_storage(_: Admin, session: ReadSession, ctx: Ctx) -> StorageReport:
    """Bytes and files used by originals, trash, old versions, renditions, streams and temp."""
    return storage_report.report(session, ctx.storage)


@router.post(
    "/audit",
    response_model=AuditRunRead,
    status_code=202,
    responses=errors(409),
)
def start_audit(user: Admin, auditor: Auditor) -> AuditRunRead:
    """Start an integrity audit: every original re-hashed; follow it at /admin/audit/{id}."""
    return auditor.request(AuditTrigger.manual, user.id)


@router.get(
    "/audit/latest",
    response_model=AuditRunRead,
    responses=errors(404),
)
def latest_audit(_: Admin, session: ReadSession) -> AuditRunRead:
    """The newest audit (running or finished) with its progress and findings."""
    return audit.latest(session)


@router.get(
    "/audit/{audit_id}",
    response_model=AuditRunRead,
    responses=errors(404),
)
def get_audit(
    audit_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: Admin, session: ReadSession
) -> AuditRunRead:
    """One audit with its progress and (up to 1,000) findings."""
    return audit.get(session, audit_id)
