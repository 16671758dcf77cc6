"""Admin endpoints: read-auth switch and the orphan sweep."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from starlette.concurrency import run_in_threadpool

from medianest.common.security import Admin
from medianest.media_store.routes import deps
from medianest.media_store.schemas import ReadAuthConfig, ReadAuthUpdate, SweepResult
from medianest.media_store.service import maintenance, settings_flag

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
