"""Public service endpoints: banner and health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from medianest.authentication.schemas import Health
from medianest.authentication.service import check_database
from medianest.common.app import banner
from medianest.common.demo import health_auth
from medianest.common.deps import ReadSessionDep

router = APIRouter(tags=["service"])


@router.get("/")
def root() -> dict[str, Any]:
    """Service banner (public)."""
    return banner("authentication")


@router.get("/health")
def health(request: Request, session: ReadSessionDep) -> Health:
    """Liveness and database check (public)."""
    check_database(session)
    return Health(status="ok", database="ok", **health_auth(request.app.state.settings))
