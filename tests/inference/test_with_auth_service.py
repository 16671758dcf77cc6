"""Workers authenticate against the real authentication service: password login, then the
inference API verifies the ES256 token with the auth service's published keys (no key file).
Skipped only when the authentication package is not importable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from medianest.inference.app import create_app
from medianest.inference.auth_client import TokenSource
from medianest.inference.config import Settings, WorkerSettings
from medianest.inference.db import MIGRATIONS_DIR
from medianest.inference.worker.main import build_worker
from tests.conftest import DatabaseFactory
from tests.inference.standin import serve

pytestmark = [pytest.mark.inference, pytest.mark.integration]

auth_app = pytest.importorskip("medianest.authentication.app")
auth_config = pytest.importorskip("medianest.authentication.config")
auth_db = pytest.importorskip("medianest.authentication.db")


def test_worker_logs_in_with_password_and_completes_a_job(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    auth_settings = auth_config.Settings(
        database_url=db_factory.url(auth_db.MIGRATIONS_DIR), home=tmp_path / "auth",
        admin_username="admin", admin_password="admin-password-123", argon2_time_cost=1,
        argon2_memory_cost_kib=1024, argon2_parallelism=1, log_json=False,
    )  # fmt: skip
    with serve(auth_app.create_app(auth_settings)) as auth_url:
        admin = TokenSource(username="admin", password="admin-password-123", auth_url=auth_url)
        created = httpx.post(f"{auth_url}/users/", headers=admin.headers(), json={
            "username": "worker1", "password": "worker-password-123",
            "permissions": ["ai_inference_worker"],
        })  # fmt: skip
        assert created.status_code == 201, created.text
        settings = Settings(
            database_url=db_factory.url(MIGRATIONS_DIR), home=tmp_path / "inference",
            auth_url=auth_url, follower_enabled=False, enable_test_tasks=True,
            check_media_exists=False, log_json=False,
        )  # fmt: skip
        with serve(create_app(settings)) as api_url:
            queued = httpx.post(f"{api_url}/job/noop", json={"media_store_id": 1},
                                headers=admin.headers())  # fmt: skip
            assert queued.status_code == 201, queued.text
            worker = build_worker(WorkerSettings(
                username="worker1", password="worker-password-123", auth_url=auth_url,
                inference_url=api_url, claim_wait_s=0.5, enable_test_tasks=True,
            ))  # fmt: skip
            thread = threading.Thread(target=worker.run, daemon=True)
            thread.start()
            try:
                job_url = f"{api_url}/job/{queued.json()['job_id']}"
                deadline = time.monotonic() + 20
                while httpx.get(job_url, headers=admin.headers()).json()["status"] != "completed":
                    assert time.monotonic() < deadline, "job not completed"
                    time.sleep(0.1)
            finally:
                worker.stop()
                thread.join(timeout=10)
