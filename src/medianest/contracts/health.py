"""What every service's ``/health`` reports about authentication (demo mode or not)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthAuth(BaseModel):
    """The authentication state every ``/health`` reports."""

    auth: Literal["enabled", "disabled"] = "enabled"
    warning: str | None = None
