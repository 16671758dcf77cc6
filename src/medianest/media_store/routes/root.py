"""Public service endpoints: banner and health."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from medianest.common.app import banner
from medianest.common.demo import HealthAuth, health_auth
from medianest.common.deps import ReadSessionDep

router = APIRouter(tags=["service"])


class StoreHealth(HealthAuth):
    status: str
    database: str
    free_disk_bytes: int


@router.get("/")
def service_banner() -> dict[str, Any]:
    """Service name and version."""
    return banner("media_store")


@router.get("/health")
def health(request: Request, session: ReadSessionDep) -> StoreHealth:
    """Liveness, database and free space of the file store (public)."""
    session.execute(text("SELECT 1"))
    free = shutil.disk_usage(request.app.state.store.storage.root).free
    return StoreHealth(
        status="ok", database="ok", free_disk_bytes=free, **health_auth(request.app.state.settings)
    )
