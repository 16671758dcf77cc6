"""Service banner."""

from typing import Any

from fastapi import APIRouter

from medianest.common.app import banner

router = APIRouter()


@router.get("/", tags=["service"])
def service_banner() -> dict[str, Any]:
    """Service name and version."""
    return banner("media_store")
