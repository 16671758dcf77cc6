"""Across the real boundary: the media store app (uvicorn) feeds the inference follower, and a
worker fetches the preview from it over HTTP. Upload → image_info job completes → delete removes
the job. Skipped only when the media store package is not importable."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.inference.app import create_app
from medianest.inference.config import Settings, WorkerSettings
from medianest.inference.db import MIGRATIONS_DIR
from medianest.inference.worker.main import build_worker
from tests.conftest import DatabaseFactory, TokenMinter
from tests.inference.standin import jpeg_bytes, serve
from tests.polling import wait_until

pytestmark = [pytest.mark.inference, pytest.mark.integration]

store_app = pytest.importorskip("medianest.media_store.app")
store_config = pytest.importorskip("medianest.media_store.config")
store_db = pytest.importorskip("medianest.media_store.db")


def test_upload_is_analysed_and_delete_removes_its_jobs(
    db_factory: DatabaseFactory, tmp_path: Path, token_minter: TokenMinter
) -> None:
    store_settings = store_config.Settings(
        database_url=db_factory.url(store_db.MIGRATIONS_DIR), home=tmp_path / "store",
        public_key_path=token_minter.public_key_path, log_json=False,
    )  # fmt: skip
    writer = token_minter.header(sub=4, permissions=["media_store_write", "media_store_read"])
    user = token_minter.header(sub=2, permissions=["ai_inference_support"])
    service_token = token_minter(sub=8, permissions=["media_store_read"], ttl=3600)
    with serve(store_app.create_app(store_settings)) as store_url:
        settings = Settings(
            database_url=db_factory.url(MIGRATIONS_DIR),
            home=tmp_path / "inference", public_key_path=token_minter.public_key_path,
            media_store_url=store_url, follower_poll_s=30, pipeline_tasks="image_info",
            service_token=service_token, log_json=False,
        )  # fmt: skip
        with serve(create_app(settings)) as api_url:
            worker = build_worker(WorkerSettings(
                token=token_minter(sub=9, permissions=["ai_inference_worker", "media_store_read"]),
                inference_url=api_url, media_store_url=store_url, claim_wait_s=0.5,
            ))  # fmt: skip
            thread = threading.Thread(target=worker.run, daemon=True)
            thread.start()
            try:
                _upload_then_delete(store_url, api_url, writer, user)
            finally:
                worker.stop()
                thread.join(timeout=10)


def _upload_then_delete(store_url: str, api_url: str, writer: Any, user: Any) -> None:
    photo = jpeg_bytes(80, 60, (20, 30, 220), orientation=6)
    up = httpx.post(f"{store_url}/entity/", headers=writer, data={"is_collection": "false"},
                    files={"image": ("photo.jpg", photo, "image/jpeg")}, timeout=30)  # fmt: skip
    assert up.status_code == 201, up.text
    entity_id = up.json()["id"]
    with httpx.Client(base_url=api_url, headers=user, timeout=10) as api:

        def completed() -> Any:
            items = api.get(f"/job/?media_store_id={entity_id}").json()["items"]
            return items if items and items[0]["status"] == "completed" else None

        job = wait_until(completed, timeout=30)[0]
        assert job["task_type"] == "image_info"
        assert (job["result"]["width"], job["result"]["height"]) == (60, 80)
        assert httpx.delete(f"{store_url}/entity/{entity_id}", headers=writer).status_code == 204
        wait_until(
            lambda: api.get(f"/job/?media_store_id={entity_id}").json()["items"] == [],
            timeout=30,
        )
