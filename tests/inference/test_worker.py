"""The worker loop against a real uvicorn-served inference API and the stand-in store.

The worker runs in a thread here (its process wrapper is covered by test_processes.py); it talks
HTTP only, exactly as in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from medianest.inference.app import create_app
from medianest.inference.config import Settings, WorkerSettings
from medianest.inference.tasks import TaskContext, TaskJob, TaskOutcome, TaskType, register_task
from medianest.inference.worker.main import build_worker
from medianest.inference.worker.runner import Worker
from tests.conftest import TokenMinter
from tests.inference.standin import Media, StandinStore, jpeg_bytes, serve

pytestmark = [pytest.mark.inference, pytest.mark.integration]


BATCHES: list[list[int]] = []


def probe(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    """Test-only task type recording the batches the worker hands to a handler."""
    BATCHES.append([job.media_store_id for job in jobs])
    for job in jobs:
        ctx.report_progress(job.job_id, 50)
    return [{"batch_size": len(jobs)} for _ in jobs]


register_task(
    TaskType("batch_probe", probe, max_batch=3, test_only=True),
    replace=True,
)


class Api:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def queue(self, task: str, media_id: int) -> str:
        resp = self.http.post(f"/job/{task}", json={"media_store_id": media_id})
        assert resp.status_code in (200, 201), resp.text
        return str(resp.json()["job_id"])

    def job(self, job_id: str) -> Any:
        return self.http.get(f"/job/{job_id}").json()

    def wait(self, job_id: str, done: Callable[[Any], bool], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if done(job):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job did not reach the expected state: {self.job(job_id)}")


@pytest.fixture
def api_server(
    make_settings: Callable[..., Settings], request: pytest.FixtureRequest
) -> Iterator[str]:
    overrides = getattr(request, "param", {})
    with serve(create_app(make_settings(lease_s=0.6, **overrides))) as url:
        yield url


@pytest.fixture
def api(api_server: str, user_headers: dict[str, str]) -> Iterator[Api]:
    client = Api(api_server, user_headers)
    yield client
    client.http.close()


@pytest.fixture
def start_worker(api_server: str, store: StandinStore, token_minter: TokenMinter
                 ) -> Iterator[Callable[..., Worker]]:  # fmt: skip
    started: list[tuple[Worker, threading.Thread]] = []

    def start(**overrides: Any) -> Worker:
        token = token_minter(sub=9, permissions=["ai_inference_worker", "media_store_read"])
        values = {"token": token, "inference_url": api_server, "media_store_url": store.url,
                  "claim_wait_s": 0.5, "enable_test_tasks": True, **overrides}  # fmt: skip
        worker = build_worker(WorkerSettings(**values))
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=10)


def finished(job: Any) -> bool:
    return job["status"] in ("completed", "error")


def test_image_info_reports_exif_oriented_size(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    store.media[1] = Media(jpeg_bytes(64, 48, (10, 200, 30), orientation=6))
    job_id = api.queue("image_info", 1)
    start_worker()
    job = api.wait(job_id, finished)
    assert job["status"] == "completed", job
    assert (job["result"]["width"], job["result"]["height"]) == (48, 64)
    assert job["result"]["mode"] == "RGB"
    r, g, b = job["result"]["mean_color"]
    assert (r < 40, g > 170, b < 60) == (True, True, True)
    assert job["attempts"] == 1


def test_undecodable_media_fails_at_once_without_affecting_others(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    store.media[1] = Media(b"this is not an image")
    store.media[2] = Media(jpeg_bytes())
    bad, good = api.queue("image_info", 1), api.queue("image_info", 2)
    start_worker(batch=4)
    bad_job = api.wait(bad, finished)
    assert bad_job["status"] == "error"
    assert "cannot decode image" in bad_job["error_message"]
    assert bad_job["attempts"] == 1
    assert api.wait(good, finished)["status"] == "completed"


def test_media_gone_from_store_fails_without_retry(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("image_info", 1)
    del store.media[1]
    start_worker()
    job = api.wait(job_id, finished)
    assert job["status"] == "error"
    assert "not found" in job["error_message"]
    assert job["attempts"] == 1


def test_store_outage_longer_than_the_wait_is_retried_then_succeeds(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("image_info", 1)
    store.down = True
    start_worker(store_outage_wait_s=0)
    api.wait(job_id, lambda j: j["attempts"] >= 1 and j["status"] == "pending")
    store.down = False
    job = api.wait(job_id, finished)
    assert job["status"] == "completed"
    assert job["attempts"] >= 2


def test_short_store_outage_is_waited_out_without_using_an_attempt(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    """A store restart must not burn the attempts of every job in hand (and dead-letter them)."""
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("image_info", 1)
    store.down = True
    start_worker(store_outage_wait_s=60)
    api.wait(job_id, lambda j: j["status"] == "processing")
    time.sleep(2.0)  # the outage outlasts several leases (0.6 s): heartbeats keep the job held
    assert api.job(job_id)["status"] == "processing"
    store.down = False
    job = api.wait(job_id, finished)
    assert job["status"] == "completed", job
    assert job["attempts"] == 1


def test_worker_waits_out_an_auth_outage_instead_of_crashing(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker], token_minter: TokenMinter
) -> None:
    """Auth answers 503 (its database restarting) when the worker logs in: it backs off."""
    logins: list[bool] = []
    auth_app = FastAPI()

    @auth_app.post("/auth/token")
    def login() -> dict[str, Any]:
        logins.append(len(logins) > 0)  # the first login fails, the next ones succeed
        if not logins[-1]:
            raise HTTPException(503, "database unavailable, retry shortly")
        token = token_minter(sub=9, permissions=["ai_inference_worker", "media_store_read"])
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "refresh-1",
        }  # fmt: skip  (TokenResponse, contracts/auth.py)

    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("image_info", 1)
    with serve(auth_app) as auth_url:
        start_worker(token=None, username="worker", password="secret", auth_url=auth_url)
        job = api.wait(job_id, finished)
    assert job["status"] == "completed"
    assert logins[:2] == [False, True]


def test_heartbeats_keep_a_long_job_leased(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("INFERENCE_TEST_SLEEP_S", "2")  # > 3 leases of 0.6 s
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("sleep", 1)
    start_worker()
    job = api.wait(job_id, finished)
    assert job["status"] == "completed"
    assert job["attempts"] == 1


def test_cancel_stops_running_job_at_next_heartbeat(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("INFERENCE_TEST_SLEEP_S", "30")
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("sleep", 1)
    worker = start_worker()
    api.wait(job_id, lambda j: j["status"] == "processing")
    assert api.http.delete(f"/job/{job_id}").status_code == 204
    deadline = time.monotonic() + 5
    while api.http.get(f"/job/{job_id}").status_code != 404:
        assert time.monotonic() < deadline, "cancelled job was not removed"
        time.sleep(0.05)
    assert worker.processed == 1


def test_stop_releases_jobs_when_grace_runs_out(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("INFERENCE_TEST_SLEEP_S", "30")
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("sleep", 1)
    worker = start_worker(grace_s=0.3)
    api.wait(job_id, lambda j: j["status"] == "processing")
    worker.stop()
    job = api.wait(job_id, lambda j: j["status"] == "pending", timeout=5)
    assert job["error_message"] == "worker shutting down"
    assert job["attempts"] == 1


def test_stop_finishes_job_in_hand_within_grace(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("INFERENCE_TEST_SLEEP_S", "1")
    store.media[1] = Media(jpeg_bytes())
    job_id = api.queue("sleep", 1)
    worker = start_worker(grace_s=10)
    api.wait(job_id, lambda j: j["status"] == "processing")
    worker.stop()
    assert api.wait(job_id, finished)["status"] == "completed"


def test_handler_receives_batches_of_its_task_type(
    api: Api, store: StandinStore, start_worker: Callable[..., Worker]
) -> None:
    BATCHES.clear()
    for media_id in range(1, 8):
        store.media[media_id] = Media(jpeg_bytes())
    job_ids = [api.queue("batch_probe", m) for m in range(1, 8)]
    job_ids.append(api.queue("image_info", 1))
    start_worker(batch=10)
    jobs = [api.wait(j, finished) for j in job_ids]
    assert all(j["status"] == "completed" for j in jobs)
    assert sorted(len(b) for b in BATCHES) == [1, 3, 3]  # max_batch 3, one claim of 8 jobs
    assert sorted(m for b in BATCHES for m in b) == list(range(1, 8))
