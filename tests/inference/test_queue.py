"""The queue: claim order and atomicity, leases, heartbeats, reaper, retries, result sinks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from medianest.common.db import Database
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from medianest.inference.db import transaction
from medianest.inference.models import Job, JobAttempt
from medianest.inference.repository import jobs as repository
from medianest.inference.repository import queue
from medianest.inference.service import worker as worker_service

pytestmark = [pytest.mark.inference]

H = dict[str, str]


def enqueue(settings: Settings, rows: list[tuple[str, int, int]]) -> None:
    db = Database(settings.db_url())
    try:
        with transaction(db) as session:
            repository.insert_jobs_bulk(session, rows, settings.max_attempts)
    finally:
        db.dispose()


def claim(client: TestClient, headers: H, worker: str = "w1", n: int = 1, **kw: Any) -> list[Any]:
    body = {"worker_id": worker, "max_jobs": n, **kw}
    resp = client.post("/worker/claim", json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    jobs: list[Any] = resp.json()["jobs"]
    return jobs


def report(client: TestClient, headers: H, job_id: str, kind: str, **body: Any) -> Any:
    return client.post(f"/worker/jobs/{job_id}/{kind}", json={"worker_id": "w1", **body},
                       headers=headers)  # fmt: skip


def test_claim_orders_by_priority_then_age(settings: Settings, client: TestClient,
                                           worker_headers: H) -> None:  # fmt: skip
    enqueue(settings, [("noop", 1, 1), ("noop", 2, 9), ("noop", 3, 5), ("noop", 4, 9)])
    jobs = claim(client, worker_headers, n=10)
    assert [j["media_store_id"] for j in jobs] == [2, 4, 3, 1]
    assert all(j["attempts"] == 1 and j["lease_s"] == settings.lease_s for j in jobs)
    assert claim(client, worker_headers, n=10) == []


def test_claim_takes_at_most_max_jobs(settings: Settings, client: TestClient,
                                      worker_headers: H) -> None:  # fmt: skip
    enqueue(settings, [("noop", i, 5) for i in range(1, 7)])
    assert len(claim(client, worker_headers, n=2)) == 2
    assert len(claim(client, worker_headers, n=3)) == 3
    assert len(claim(client, worker_headers, n=3)) == 1


def test_claim_filters_task_types(
    settings: Settings, client: TestClient, worker_headers: H
) -> None:
    enqueue(settings, [("noop", 1, 5), ("sleep", 1, 5)])
    jobs = claim(client, worker_headers, n=5, task_types=["sleep"])
    assert [j["task_type"] for j in jobs] == ["sleep"]


def test_concurrent_claims_never_hand_out_a_job_twice(settings: Settings) -> None:
    """8 threads with their own sessions race on one table (SKIP LOCKED / BEGIN IMMEDIATE)."""
    enqueue(settings, [("noop", i, i % 10) for i in range(1, 401)])
    db = Database(settings.db_url())
    seen: list[str] = []
    lock = threading.Lock()

    def drain(worker: str) -> None:
        while True:
            with transaction(db) as session:
                got = queue.claim(session, worker, None, 7, 30_000)
            if not got:
                return
            assert len(got) <= 7
            with lock:
                seen.extend(j.job_id for j in got)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(seen) == 400
        assert len(set(seen)) == 400
        with transaction(db) as session:
            attempts = session.scalars(select(JobAttempt.job_id)).all()
        assert Counter(attempts).most_common(1)[0][1] == 1
    finally:
        db.dispose()


def test_claim_long_polls_until_a_job_is_queued(
    client: TestClient, user_headers: H, worker_headers: H, store: Any
) -> None:
    from tests.inference.standin import Media, jpeg_bytes

    store.media[1] = Media(jpeg_bytes())
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.extend(claim(client, worker_headers, wait_s=20)))
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    client.post("/job/image_info", json={"media_store_id": 1}, headers=user_headers)
    thread.join(timeout=30)
    assert len(got) == 1
    assert time.monotonic() - started < 15  # woken by the new job, not the end of the 20 s wait


def test_claim_with_wait_returns_empty_after_timeout(client: TestClient, worker_headers: H) -> None:
    started = time.monotonic()
    assert claim(client, worker_headers, wait_s=0.5) == []
    assert 0.49 < time.monotonic() - started < 15  # waited (the server sleeps at least wait_s)


def test_worker_routes_require_worker_permission(client: TestClient, user_headers: H) -> None:
    resp = client.post("/worker/claim", json={"worker_id": "w"}, headers=user_headers)
    assert resp.status_code == 403
    assert client.post("/worker/claim", json={"worker_id": "w"}).status_code == 401


def test_heartbeat_extends_lease_and_rejects_other_workers(
    settings: Settings, client: TestClient, worker_headers: H
) -> None:
    enqueue(settings, [("noop", 1, 5)])
    job = claim(client, worker_headers)[0]
    time.sleep(0.05)
    beat = report(client, worker_headers, job["job_id"], "heartbeat", progress=40)
    assert beat.status_code == 200
    assert beat.json()["lease_expires_at"] > job["lease_expires_at"]
    assert beat.json()["cancel_requested"] is False
    other = client.post(f"/worker/jobs/{job['job_id']}/heartbeat", json={"worker_id": "w2"},
                        headers=worker_headers)  # fmt: skip
    assert other.status_code == 409
    stale = report(client, worker_headers, job["job_id"], "heartbeat", attempt=5)
    assert stale.status_code == 409


def test_complete_stores_result_and_is_accepted_once(
    settings: Settings, client: TestClient, worker_headers: H, user_headers: H
) -> None:
    enqueue(settings, [("noop", 1, 5)])
    job = claim(client, worker_headers)[0]
    done = report(client, worker_headers, job["job_id"], "complete", result={"ok": True})
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    again = report(client, worker_headers, job["job_id"], "complete", result={"ok": False})
    assert again.status_code == 409
    final = client.get(f"/job/{job['job_id']}", headers=user_headers).json()
    assert final["result"] == {"ok": True}
    assert final["progress"] == 100


@pytest.mark.parametrize(
    "result", [None, [1, 2], "text", {"width": -1, "height": 2, "mode": "RGB", "mean_color": [1]}]
)
def test_invalid_result_fails_job_with_clear_message(
    settings: Settings, client: TestClient, worker_headers: H, result: Any
) -> None:
    enqueue(settings, [("image_info", 1, 5)])
    job = claim(client, worker_headers)[0]
    resp = report(client, worker_headers, job["job_id"], "complete", result=result)
    assert resp.status_code == 200
    assert resp.json()["status"] == "error"
    assert resp.json()["error_message"].startswith("invalid result")
    assert resp.json()["result"] is None


def test_retryable_failure_backs_off_then_dead_letters(
    make_settings: Any, worker_headers: H
) -> None:
    settings = make_settings(retry_base_s=0.2, max_attempts=3)
    enqueue(settings, [("noop", 1, 5)])
    with TestClient(create_app(settings)) as client:
        windows = []  # (sent, run_after, answered): the server's "now" lies between the two
        for attempt in (1, 2, 3):
            jobs = claim(client, worker_headers, wait_s=5)
            assert jobs[0]["attempts"] == attempt
            sent = queue.now_ms()
            failed = report(
                client, worker_headers, jobs[0]["job_id"], "fail", error=f"boom {attempt}"
            )
            windows.append((sent, failed.json()["run_after"], queue.now_ms()))
        final = failed.json()
    assert final["status"] == "error"
    assert final["error_message"] == "boom 3"
    for (sent, run_after, answered), delay in zip(windows, (200, 400), strict=False):
        assert sent + delay <= run_after <= answered + delay  # base 0.2 s, then doubled


def test_non_retryable_failure_errors_at_once(settings: Settings, client: TestClient,
                                              worker_headers: H) -> None:  # fmt: skip
    enqueue(settings, [("noop", 1, 5), ("noop", 2, 5)])
    jobs = claim(client, worker_headers, n=2)
    failed = report(client, worker_headers, jobs[0]["job_id"], "fail", error="undecodable",
                    retryable=False)  # fmt: skip
    assert failed.json()["status"] == "error"
    assert failed.json()["attempts"] == 1
    ok = report(client, worker_headers, jobs[1]["job_id"], "complete", result={"ok": 1})
    assert ok.json()["status"] == "completed"


def test_expired_lease_returns_job_and_late_report_is_refused(
    make_settings: Any, worker_headers: H
) -> None:
    settings = make_settings(lease_s=0.3, reaper_interval_s=0.1)
    enqueue(settings, [("noop", 1, 5)])
    with TestClient(create_app(settings)) as client:
        first = claim(client, worker_headers, worker="slow")[0]
        second = claim(client, worker_headers, worker="fast", wait_s=5)[0]
        assert second["job_id"] == first["job_id"]
        assert second["attempts"] == 2
        late = client.post(f"/worker/jobs/{first['job_id']}/complete",
                           json={"worker_id": "slow", "result": {"x": 1}},
                           headers=worker_headers)  # fmt: skip
        assert late.status_code == 409
        done = client.post(f"/worker/jobs/{first['job_id']}/complete",
                           json={"worker_id": "fast", "result": {"x": 2}},
                           headers=worker_headers)  # fmt: skip
        assert done.json()["result"] == {"x": 2}
    db = Database(settings.db_url())
    with transaction(db) as session:
        outcomes = [
            (a.worker_id, a.outcome) for a in repository.attempts_of(session, first["job_id"])
        ]
    db.dispose()
    assert outcomes == [("slow", "expired"), ("fast", "completed")]


def test_reaper_dead_letters_after_max_lease_expiries(settings: Settings) -> None:
    enqueue(settings, [("noop", 1, 5)])
    db = Database(settings.db_url())
    try:
        for _ in range(settings.max_attempts):
            with transaction(db) as session:
                assert len(queue.claim(session, "w", None, 1, lease_ms=1)) == 1
            time.sleep(0.01)
            with transaction(db) as session:
                assert worker_service.reap(session) == 1
        with transaction(db) as session:
            job = session.scalars(select(Job)).one()
            assert job.status == "error"
            assert job.error_message is not None
            assert job.error_message.startswith("lease expired 3 times")
    finally:
        db.dispose()


def test_admin_stats_and_cleanup(settings: Settings, client: TestClient, worker_headers: H,
                                 token_minter: Any, user_headers: H) -> None:  # fmt: skip
    enqueue(settings, [("noop", i, 5) for i in range(1, 5)])
    jobs = claim(client, worker_headers, n=2)
    report(client, worker_headers, jobs[0]["job_id"], "complete", result={})
    report(client, worker_headers, jobs[1]["job_id"], "fail", error="x", retryable=False)
    assert client.get("/admin/stats", headers=user_headers).status_code == 403
    stats = client.get("/admin/stats", headers=token_minter.admin()).json()
    assert stats["counts"]["pending"] == 2, stats
    assert stats["counts"]["completed"] == 1
    assert stats["counts"]["error"] == 1
    assert stats["queue_depth"] == 2
    assert stats["oldest_pending_age_s"] >= 0
    assert [w["worker_id"] for w in stats["workers"]] == ["w1"]
    keep = client.delete("/admin/cleanup?older_than_s=3600", headers=token_minter.admin()).json()
    assert keep["total"] == 0
    time.sleep(0.01)
    gone = client.delete("/admin/cleanup?older_than_s=0", headers=token_minter.admin()).json()
    assert gone == {"deleted": {"completed": 1, "error": 1}, "total": 2}
    listing = client.get("/job/", headers=user_headers).json()
    assert listing["pagination"]["total_items"] == 2, listing


def test_health_is_public_and_reports_components(client: TestClient, store: Any) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["media_store"] == "ok"
    assert body["queue_depth"] == 0
    store.down = True
    assert client.get("/health").json()["media_store"] == "unreachable"
