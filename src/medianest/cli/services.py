"""Which services exist, their ports, and how to serve one."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum


class ServiceName(StrEnum):
    authentication = "authentication"
    media_store = "media_store"
    inference = "inference"
    web = "web"  # the browser app and the APIs behind one origin (no database)


@dataclass(frozen=True)
class ServiceInfo:
    port: int


SERVICES = {
    ServiceName.authentication: ServiceInfo(8002),
    ServiceName.media_store: ServiceInfo(8000),
    ServiceName.inference: ServiceInfo(8001),
    ServiceName.web: ServiceInfo(8080),
}
DATABASE_SERVICES = (ServiceName.authentication, ServiceName.media_store, ServiceName.inference)


def service_available(name: ServiceName) -> bool:
    try:
        importlib.import_module(f"medianest.{name.value}.app")
    except ModuleNotFoundError:
        return False
    return True


def serve_service(name: ServiceName, host: str, port: int, workers: int = 1) -> None:
    import os

    import uvicorn

    from medianest.common.demo import refusal
    from medianest.common.logging import configure_logging
    from medianest.common.settings import CommonSettings

    os.environ["MEDIANEST_BIND_HOST"] = host  # demo mode checks where the app listens
    common = CommonSettings()
    if (reason := refusal(common)) is not None:  # the app refuses too; say it without a trace
        raise SystemExit(f"error: {reason}")
    configure_logging(common.log_level, common.log_json)
    uvicorn.run(
        f"medianest.{name.value}.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
