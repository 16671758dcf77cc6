"""The media store application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from medianest.common.app import build_app, token_verifier_for
from medianest.common.db import Database
from medianest.common.events import Broadcaster, create_mqtt_publisher
from medianest.media_store import feed
from medianest.media_store.config import Settings, VideoStreams
from medianest.media_store.db import migrate
from medianest.media_store.media import ExifTool, MediaAnalyzer
from medianest.media_store.metrics import StoreMetrics
from medianest.media_store.routes import router
from medianest.media_store.service.audit import AuditRunner
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.maintenance import refresh_statistics, sweep
from medianest.media_store.service.settings_flag import ReadAuthFlag
from medianest.media_store.storage import Storage
from medianest.media_store.streams import StreamBuilder

log = logging.getLogger("medianest.media_store")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    url = settings.db_url()
    await run_in_threadpool(migrate, url)
    db = Database(url)
    storage = settings.open_storage()
    exiftool = ExifTool(settings.exiftool_path, settings.exiftool_timeout_s)
    broadcaster = Broadcaster()
    mqtt = create_mqtt_publisher(
        settings.mqtt_url, f"media-store-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    feed.install(db.sessions, feed.ChangePublisher(broadcaster, mqtt).publish)
    app.state.db = db
    app.state.token_verifier = token_verifier_for(settings)
    app.state.read_auth_required = ReadAuthFlag(db, settings.read_auth_cache_s)
    app.state.broadcaster = broadcaster
    local = storage if isinstance(storage, Storage) else None  # streams and audit: local only
    builder = _stream_builder(settings, local) if local is not None else None
    app.state.store = StoreContext(
        storage,
        MediaAnalyzer(exiftool, storage.tmp_dir),
        settings.near_duplicate_distance,
        streams=builder,
    )
    auditor = AuditRunner(db, local, settings.audit_interval_h, settings.sweep_min_age_s)
    app.state.auditor = auditor
    await run_in_threadpool(refresh_statistics, db)
    if settings.sweep_on_start:
        result = await run_in_threadpool(sweep, db, storage, settings.sweep_min_age_s)
        log.info("orphan sweep", extra=result.model_dump())
    auditor.start()
    try:
        yield
    finally:
        await run_in_threadpool(auditor.close)
        broadcaster.close()
        exiftool.close()
        if builder is not None:
            builder.close()
        storage.close()
        if mqtt is not None:
            mqtt.close()
        db.dispose()


def _stream_builder(settings: Settings, storage: Storage) -> StreamBuilder | None:
    if settings.video_streams == VideoStreams.off:
        return None
    return StreamBuilder(
        storage.streams_dir,
        settings.video_stream_heights,
        workers=settings.video_stream_workers,
        attempts=settings.video_stream_attempts,
        timeout_s=settings.video_stream_timeout_s,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the media store app (the lifespan migrates the DB and opens every resource)."""
    settings = settings or Settings()
    app = build_app(
        "MediaNest media store",
        settings,
        lifespan,
        description="Media entities, files, versions, duplicates and the change feed.",
    )
    app.state.store_metrics = StoreMetrics(app.state.metrics)
    app.include_router(router)
    return app
