"""Public service endpoints: banner and health."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from medianest.common.app import banner
from medianest.common.demo import health_auth
from medianest.common.deps import ReadSessionDep
from medianest.contracts.store import StoreHealth
from medianest.media_store.routes.deps import Ctx

router = APIRouter(tags=["service"])


@router.get("/")
def service_banner() -> dict[str, Any]:
    """Service name and version."""
    return banner("media_store")


@router.get("/health")
def health(ctx: Ctx, session: ReadSessionDep, request: Request) -> StoreHealth:
    """Liveness, database and free space of the file store (public)."""
    session.execute(text("SELECT 1"))
    free = shutil.disk_usage(ctx.storage.root).free
    auth = health_auth(request.app.state.settings)
    return StoreHealth(status="ok", database="ok", free_disk_bytes=free, **auth)
