"""Settings of the web app server (``MEDIANEST_WEB_*`` plus the shared ``MEDIANEST_*`` URLs)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from medianest.common.settings import CommonSettings

# src/medianest/web/config.py -> the checkout's web/dist (where `make web` builds the frontend)
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"
DEFAULT_PORT = 8080


class Settings(CommonSettings):
    """Read from ``MEDIANEST_WEB_URL``, ``MEDIANEST_WEB_DIST``, ... (the shared prefix)."""

    web_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    web_dist: Path = DEFAULT_DIST
    # Seconds an upstream may stay silent (before its headers, or between body chunks); SSE
    # streams send keep-alives well within it. An upload is not limited by it while it sends.
    web_upstream_read_timeout_s: float = Field(default=600.0, gt=0)

    def upstreams(self) -> dict[str, str]:
        """Path prefix under ``/api/`` -> base URL of the service that answers it."""
        return {
            "auth": self.auth_url.rstrip("/"),
            "store": self.media_store_url.rstrip("/"),
            "inference": self.inference_url.rstrip("/"),
        }
