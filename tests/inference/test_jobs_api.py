"""Job API: queueing rules, permissions, listing, cancel, retry (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medianest.inference.app import create_app
from medianest.inference.config import Settings
from tests.conftest import TokenMinter
from tests.inference.standin import Media, StandinStore, jpeg_bytes

pytestmark = [pytest.mark.inference]

H = dict[str, str]


@pytest.fixture(autouse=True)
def _media(store: StandinStore) -> None:
    for media_id in range(1, 6):
        store.media[media_id] = Media(jpeg_bytes(color=(media_id * 40, 0, 0)))


def post_job(client: TestClient, headers: H, media_id: int, task: str = "image_info",
             **params: Any) -> Any:  # fmt: skip
    return client.post(f"/job/{task}", json={"media_store_id": media_id, **params},
                       headers=headers)  # fmt: skip


def test_post_job_returns_201_with_seed_job_response(client: TestClient, user_headers: H) -> None:
    resp = post_job(client, user_headers, 1, priority=7)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "pending"
    assert body["priority"] == 7
    assert body["media_store_id"] == 1
    assert body["attempts"] == 0
    for key in ("job_id", "task_type", "created_at", "started_at", "completed_at", "result",
                "error_message", "progress", "worker_id", "run_after"):  # fmt: skip
        assert key in body
    assert client.get(f"/job/{body['job_id']}", headers=user_headers).json() == body


def test_post_same_media_and_task_returns_active_job_with_200(
    client: TestClient, user_headers: H
) -> None:
    first = post_job(client, user_headers, 1).json()
    second = post_job(client, user_headers, 1)
    assert second.status_code == 200
    assert second.json()["job_id"] == first["job_id"]


def test_force_cancels_active_job_and_queues_new_one(client: TestClient, user_headers: H) -> None:
    first = post_job(client, user_headers, 1).json()
    forced = client.post("/job/image_info?force=true", json={"media_store_id": 1},
                         headers=user_headers)  # fmt: skip
    assert forced.status_code == 201
    assert forced.json()["job_id"] != first["job_id"]
    assert client.get(f"/job/{first['job_id']}", headers=user_headers).status_code == 404


def test_concurrent_posts_create_one_job(client: TestClient, user_headers: H) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: post_job(client, user_headers, 2), range(16)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1, codes
    assert set(codes) <= {200, 201}
    assert len({r.json()["job_id"] for r in results}) == 1


def test_unknown_task_type_is_400(client: TestClient, user_headers: H) -> None:
    resp = post_job(client, user_headers, 1, task="make_coffee")
    assert resp.status_code == 400
    assert "unknown task type" in resp.json()["detail"]


def test_missing_media_is_404(client: TestClient, user_headers: H) -> None:
    resp = post_job(client, user_headers, 999)
    assert resp.status_code == 404
    assert "not found" in resp.json()["detail"]


def test_store_unreachable_is_503_with_retry_after(
    client: TestClient, user_headers: H, store: StandinStore
) -> None:
    store.down = True
    resp = post_job(client, user_headers, 1)
    assert resp.status_code == 503
    assert resp.headers["retry-after"]


def test_invalid_body_is_422(client: TestClient, user_headers: H) -> None:
    assert post_job(client, user_headers, 1, priority=11).status_code == 422
    assert client.post("/job/image_info", json={"media_store_id": "x"},
                       headers=user_headers).status_code == 422  # fmt: skip


def test_job_routes_require_inference_permission(
    client: TestClient, token_minter: TokenMinter, worker_headers: H
) -> None:
    reader = token_minter.header(sub=5, permissions=["media_store_read"])
    assert post_job(client, {}, 1).status_code == 401
    assert post_job(client, reader, 1).status_code == 403
    assert post_job(client, worker_headers, 1).status_code == 403
    assert client.get("/job/", headers=reader).status_code == 403
    assert client.get("/job/abc").status_code == 401
    assert post_job(client, token_minter.admin(), 1).status_code == 201


def test_list_filters_and_paginates(client: TestClient, user_headers: H) -> None:
    for media_id in range(1, 6):
        post_job(client, user_headers, media_id)
    post_job(client, user_headers, 1, task="noop")
    page = client.get("/job/?page=1&page_size=2&task_type=image_info", headers=user_headers).json()
    assert page["pagination"] == {"page": 1, "page_size": 2, "total_items": 5, "total_pages": 3,
                                  "has_next": True, "has_prev": False}  # fmt: skip
    assert len(page["items"]) == 2
    by_media = client.get("/job/?media_store_id=1", headers=user_headers).json()
    assert {j["task_type"] for j in by_media["items"]} == {"image_info", "noop"}
    past_end = client.get("/job/?page=9&status=pending", headers=user_headers).json()
    assert past_end["items"] == []
    assert client.get("/job/?status=bogus", headers=user_headers).status_code == 422


def test_delete_pending_job_removes_it(client: TestClient, user_headers: H) -> None:
    job = post_job(client, user_headers, 1).json()
    assert client.delete(f"/job/{job['job_id']}", headers=user_headers).status_code == 204
    assert client.get(f"/job/{job['job_id']}", headers=user_headers).status_code == 404
    assert client.delete(f"/job/{job['job_id']}", headers=user_headers).status_code == 404


def test_delete_running_job_tells_worker_at_heartbeat(
    client: TestClient, user_headers: H, worker_headers: H
) -> None:
    job = post_job(client, user_headers, 1).json()
    claim = client.post("/worker/claim", json={"worker_id": "w1", "max_jobs": 1},
                        headers=worker_headers).json()  # fmt: skip
    assert claim["jobs"][0]["job_id"] == job["job_id"]
    assert client.delete(f"/job/{job['job_id']}", headers=user_headers).status_code == 204
    beat = client.post(f"/worker/jobs/{job['job_id']}/heartbeat", json={"worker_id": "w1"},
                       headers=worker_headers)  # fmt: skip
    assert beat.status_code == 200
    assert beat.json()["cancel_requested"] is True
    # the active slot is free at once: a new job for the same media may be queued
    assert post_job(client, user_headers, 1).status_code == 201
    done = client.post(f"/worker/jobs/{job['job_id']}/fail",
                       json={"worker_id": "w1", "error": "cancelled", "retryable": False},
                       headers=worker_headers)  # fmt: skip
    assert done.status_code == 200
    assert client.get(f"/job/{job['job_id']}", headers=user_headers).status_code == 404


def test_retry_requeues_failed_job_with_fresh_attempts(
    client: TestClient, user_headers: H, worker_headers: H
) -> None:
    job = post_job(client, user_headers, 1).json()
    assert client.post(f"/job/{job['job_id']}/retry", headers=user_headers).status_code == 409
    client.post("/worker/claim", json={"worker_id": "w1"}, headers=worker_headers)
    client.post(f"/worker/jobs/{job['job_id']}/fail",
                json={"worker_id": "w1", "error": "bad file", "retryable": False},
                headers=worker_headers)  # fmt: skip
    failed = client.get(f"/job/{job['job_id']}", headers=user_headers).json()
    assert failed["status"] == "error"
    assert failed["error_message"] == "bad file"
    dead = client.get("/job/?status=error", headers=user_headers).json()
    assert [j["job_id"] for j in dead["items"]] == [job["job_id"]]
    retried = client.post(f"/job/{job['job_id']}/retry", headers=user_headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    assert retried.json()["attempts"] == 0


def test_retry_conflicts_when_another_job_is_active(
    client: TestClient, user_headers: H, worker_headers: H
) -> None:
    job = post_job(client, user_headers, 1).json()
    client.post("/worker/claim", json={"worker_id": "w1"}, headers=worker_headers)
    client.post(f"/worker/jobs/{job['job_id']}/fail",
                json={"worker_id": "w1", "error": "x", "retryable": False},
                headers=worker_headers)  # fmt: skip
    assert post_job(client, user_headers, 1).status_code == 201
    assert client.post(f"/job/{job['job_id']}/retry", headers=user_headers).status_code == 409


def test_media_existence_check_can_be_disabled(make_settings: Any, user_headers: H) -> None:
    settings: Settings = make_settings(check_media_exists=False)
    from medianest.inference.app import create_app

    with TestClient(create_app(settings)) as client:
        assert post_job(client, user_headers, 12345).status_code == 201


def test_job_held_past_max_run_is_taken_back_then_failed_with_a_clear_message(
    make_settings: Any, user_headers: H, worker_headers: H
) -> None:
    """A hung task whose heartbeat thread still beats cannot keep its job forever."""
    from medianest.inference.app import create_app

    settings: Settings = make_settings(max_run_s=0.3, max_attempts=2)
    with TestClient(create_app(settings)) as client:
        job_id = post_job(client, user_headers, 1).json()["job_id"]
        url = f"/worker/jobs/{job_id}"
        for attempt, worker in enumerate(("w1", "w2"), start=1):
            claimed = _claim_when_ready(client, worker_headers, worker)
            assert claimed == [job_id]
            fresh = client.post(f"{url}/heartbeat", json={"worker_id": worker},
                                headers=worker_headers)  # fmt: skip
            assert fresh.json()["cancel_requested"] is False
            time.sleep(0.4)  # now past max_run_s
            beat = client.post(f"{url}/heartbeat", json={"worker_id": worker},
                               headers=worker_headers)  # fmt: skip
            assert beat.status_code == 200
            assert beat.json()["cancel_requested"] is True
            late = client.post(f"{url}/complete", json={"worker_id": worker, "result": {}},
                               headers=worker_headers)  # fmt: skip
            assert late.status_code == 409  # the hung worker's late result is refused
            job = client.get(f"/job/{job_id}", headers=user_headers).json()
            assert "ran longer than max_run_s (0.3 s)" in job["error_message"]
            assert job["attempts"] == attempt
            assert job["status"] == ("pending" if attempt == 1 else "error")
        assert client.get("/health").status_code == 200


def _claim_when_ready(client: TestClient, headers: H, worker: str) -> list[str]:
    deadline = time.monotonic() + 10  # retry backoff is 0.05 s here
    while time.monotonic() < deadline:
        jobs = client.post("/worker/claim", json={"worker_id": worker, "max_jobs": 1},
                           headers=headers).json()["jobs"]  # fmt: skip
        if jobs:
            return [j["job_id"] for j in jobs]
        time.sleep(0.05)
    return []


INFO = {"width": 4, "height": 3, "mode": "RGB", "mean_color": [1, 2, 3]}


def test_batched_report_applies_each_outcome_on_its_own(
    client: TestClient, user_headers: H, worker_headers: H
) -> None:
    ids = [post_job(client, user_headers, m).json()["job_id"] for m in (1, 2, 3, 4)]
    claimed = client.post("/worker/claim", json={"worker_id": "w1", "max_jobs": 4},
                          headers=worker_headers).json()["jobs"]  # fmt: skip
    assert sorted(j["job_id"] for j in claimed) == sorted(ids)
    done, retry, dead, foreign = ids
    reports = [
        {"job_id": done, "result": INFO},
        {"job_id": retry, "error": "store hiccup", "retryable": True},
        {"job_id": dead, "error": "not an image", "retryable": False},
        {"job_id": foreign, "result": {"width": 1}},
        {"job_id": done, "result": {"width": 9}},  # the same job again: already completed
    ]
    resp = client.post("/worker/report", json={"worker_id": "w1", "reports": reports[:3]},
                       headers=worker_headers)  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert [(o["accepted"], o["status"]) for o in resp.json()["outcomes"]] == [
        (True, "completed"), (True, "pending"), (True, "error"),
    ]  # fmt: skip
    other = client.post("/worker/report", json={"worker_id": "w2", "reports": reports[3:]},
                        headers=worker_headers).json()["outcomes"]  # fmt: skip
    assert [(o["accepted"], o["detail"]) for o in other] == [
        (False, "lease lost: the job is not held by this worker"),
        (False, "lease lost: the job is not held by this worker"),
    ]  # fmt: skip
    assert client.get(f"/job/{done}", headers=user_headers).json()["result"] == INFO
    assert client.get(f"/job/{retry}", headers=user_headers).json()["error_message"] == (
        "store hiccup"
    )
    assert client.get(f"/job/{foreign}", headers=user_headers).json()["status"] == "processing"


def test_batched_report_is_bounded_and_needs_the_worker_permission(
    client: TestClient, user_headers: H, worker_headers: H
) -> None:
    one = {"worker_id": "w1", "reports": [{"job_id": "x", "result": {}}]}
    assert client.post("/worker/report", json=one, headers=user_headers).status_code == 403
    assert client.post("/worker/report", json=one).status_code == 401
    empty = {"worker_id": "w1", "reports": []}
    assert client.post("/worker/report", json=empty, headers=worker_headers).status_code == 422
    many = {"worker_id": "w1", "reports": [{"job_id": f"j{i}", "result": {}} for i in range(101)]}
    assert client.post("/worker/report", json=many, headers=worker_headers).status_code == 422


def test_health_says_when_authentication_is_disabled(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(auth_disabled=True, bind_host="127.0.0.1")
    with TestClient(create_app(settings)) as client:
        body = client.get("/health").json()
        assert body["auth"] == "disabled"
        assert "AUTHENTICATION IS DISABLED" in body["warning"]
        assert client.get("/admin/stats").status_code == 200  # anonymous is admin
