"""Demo mode (``MEDIANEST_AUTH_DISABLED=true``): no tokens, every caller an administrator.

The seed had this switch and it was dangerous: one setting exposed the whole library to the
network. Here a service refuses to start in demo mode unless it listens on a loopback address
(``MEDIANEST_BIND_HOST``, set by ``medianest serve``/``up``; unknown counts as not loopback) and
every service URL it is configured with points at a loopback host. It says so at WARNING level
when it starts and in every ``/health`` answer.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlparse

from medianest.common.settings import CommonSettings
from medianest.contracts.health import HealthAuth  # noqa: F401  (re-exported)

log = logging.getLogger("medianest.demo")
WARNING = (
    "AUTHENTICATION IS DISABLED (MEDIANEST_AUTH_DISABLED=true): every request without "
    "credentials is served as an administrator. Demo use on this machine only."
)


class DemoModeRefused(RuntimeError):
    """Demo mode was asked for on a service reachable from other machines."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _problems(settings: CommonSettings) -> list[str]:
    problems = []
    if not is_loopback_host(settings.bind_host):
        where = settings.bind_host or "an unknown interface (MEDIANEST_BIND_HOST unset)"
        problems.append(f"the service listens on {where}")
    urls = {
        "MEDIANEST_AUTH_URL": settings.auth_url,
        "MEDIANEST_MEDIA_STORE_URL": settings.media_store_url,
        "MEDIANEST_INFERENCE_URL": settings.inference_url,
    }
    for name, url in urls.items():
        if not is_loopback_host(urlparse(url).hostname):
            problems.append(f"{name} is {url}")
    return problems


def refusal(settings: CommonSettings) -> str | None:
    """Why demo mode may not start with these settings (None: it may, or auth is on)."""
    if not settings.auth_disabled:
        return None
    problems = _problems(settings)
    if not problems:
        return None
    return (
        "MEDIANEST_AUTH_DISABLED=true is only allowed when every service listens on a "
        "loopback address (127.0.0.1, ::1, localhost): " + "; ".join(problems)
    )


def check_demo_mode(settings: CommonSettings, service: str) -> None:
    """Refuse demo mode off loopback; otherwise log the warning loudly. No-op when auth is on."""
    if (reason := refusal(settings)) is not None:
        raise DemoModeRefused(reason)
    if settings.auth_disabled:
        log.warning(WARNING, extra={"service": service, "auth": "disabled"})


def health_auth(settings: CommonSettings) -> dict[str, Any]:
    """Fields to merge into a ``/health`` answer."""
    if settings.auth_disabled:
        return {"auth": "disabled", "warning": WARNING}
    return {"auth": "enabled", "warning": None}
