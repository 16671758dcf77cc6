"""The inference API: jobs, the worker protocol, events, the change-feed follower."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from fastapi import FastAPI

from medianest.common.app import build_app, token_verifier_for
from medianest.common.db import Database
from medianest.common.events import Broadcaster, create_mqtt_publisher
from medianest.inference.auth_client import TokenSource
from medianest.inference.config import Settings
from medianest.inference.db import migrate, transaction
from medianest.inference.events import JobEvents, JobSignal
from medianest.inference.follower import ChangeFollower
from medianest.inference.metrics import InferenceMetrics
from medianest.inference.routes import router
from medianest.inference.service import worker as worker_service
from medianest.inference.service.runtime import Runtime
from medianest.inference.store_client import StoreClient
from medianest.inference.tasks import Resources
from medianest.inference.tasks.registry import load_builtin_tasks, resource_factories

log = logging.getLogger("medianest.inference")

DESCRIPTION = "Analysis jobs on media from the store: durable queue, HTTP workers, events."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = build_app("MediaNest inference", settings, _lifespan, DESCRIPTION)
    app.state.inference_metrics = InferenceMetrics(app.state.metrics)
    app.include_router(router)
    return app


def service_auth(settings: Settings) -> TokenSource | None:
    auth = TokenSource(
        token=settings.service_token,
        username=settings.service_username,
        password=settings.service_password,
        auth_url=settings.auth_url,
    )
    return auth if auth.configured else None


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    url = settings.db_url()
    await asyncio.to_thread(migrate, url)
    load_builtin_tasks()
    db = Database(url)
    auth = service_auth(settings)
    store = StoreClient(settings.media_store_url, auth, timeout=settings.store_timeout_s)
    runtime = Runtime(settings, store, Resources(settings, resource_factories()))
    job_events = _events(app, settings, db)
    metrics: InferenceMetrics = app.state.inference_metrics
    job_events.observers.append(metrics.observe)
    app.state.db, app.state.runtime = db, runtime
    app.state.token_verifier = token_verifier_for(settings)
    tasks = [_spawn(_reaper(db, settings.reaper_interval_s))]
    metrics.bind(db, runtime, None)
    if settings.follower_enabled:
        follower = ChangeFollower(db, runtime, store, auth)
        app.state.follower = follower
        metrics.bind(db, runtime, follower.status)
        tasks.append(_spawn(follower.run()))
    try:
        yield
    finally:
        await _shutdown(tasks, job_events, db)
        store.close()
        runtime.resources.close()


def _events(app: FastAPI, settings: Settings, db: Database) -> JobEvents:
    broadcaster = Broadcaster()
    mqtt = create_mqtt_publisher(
        settings.mqtt_url, f"medianest-inference-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    signal = JobSignal()
    signal.bind(asyncio.get_running_loop())
    job_events = JobEvents(broadcaster, mqtt, signal)
    job_events.install(db.sessions)
    app.state.broadcaster, app.state.job_signal, app.state.job_events = (
        broadcaster,
        signal,
        job_events,
    )
    return job_events


async def _shutdown(tasks: list[asyncio.Task[None]], job_events: JobEvents, db: Database) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    job_events.broadcaster.close()
    job_events.uninstall(db.sessions)
    if job_events.mqtt is not None:
        job_events.mqtt.close()
    db.dispose()


def _spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(coro)


async def _reaper(db: Database, interval_s: float) -> None:
    """Return expired leases to the queue every ``interval_s`` seconds."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(_reap_once, db)
        except Exception as exc:  # the DB may be briefly unavailable: try again next round
            log.warning("reaper round failed", extra={"error": repr(exc)})


def _reap_once(db: Database) -> None:
    with transaction(db) as session:
        worker_service.reap(session)
