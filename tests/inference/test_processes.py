"""Real processes: uvicorn serving the inference API, `medianest worker` processes (PostgreSQL;
the drain test on SQLite too).

Proves the queue's promises: 4 worker processes draining 2,000 jobs claim none twice and lose
none (audited in ``job_attempts``), and a worker killed with SIGKILL mid-job has its job finished
by another worker once the lease expires.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from medianest.common.db import Database
from medianest.inference.db import MIGRATIONS_DIR, transaction
from medianest.inference.models import Job, JobAttempt
from medianest.inference.repository import jobs as repository
from tests.conftest import DatabaseFactory, TokenMinter
from tests.inference.procs import api_process, start_worker
from tests.polling import wait_until

pytestmark = [pytest.mark.inference, pytest.mark.integration, pytest.mark.slow]
on_postgres = pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)


@pytest.fixture
def db_url(db_factory: DatabaseFactory) -> str:
    return db_factory.url(MIGRATIONS_DIR)


@pytest.fixture
def pg_url(postgres_url: str, db_url: str) -> str:
    assert postgres_url  # skips when PostgreSQL is not configured
    return db_url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def base_env(url: str, tmp_path: Path, token_minter: TokenMinter, **extra: str) -> dict[str, str]:
    return {
        "INFERENCE_DATABASE_URL": url, "MEDIANEST_HOME": str(tmp_path),
        "MEDIANEST_PUBLIC_KEY_PATH": str(token_minter.public_key_path),
        "INFERENCE_FOLLOWER_ENABLED": "false", "INFERENCE_ENABLE_TEST_TASKS": "1",
        "MEDIANEST_LOG_LEVEL": "WARNING", "MEDIANEST_LOG_JSON": "false",
        "MEDIANEST_WORKER_TOKEN": token_minter(sub=7, permissions=["ai_inference_worker"],
                                               ttl=3600),
        "MEDIANEST_WORKER_CLAIM_WAIT_S": "2",
        **extra,
    }  # fmt: skip


def count_status(db: Database, status: str) -> int:
    with transaction(db) as session:
        return int(session.scalar(select(func.count()).where(Job.status == status)) or 0)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def test_four_worker_processes_drain_2000_jobs_exactly_once(
    db_url: str, db: Database, tmp_path: Path, token_minter: TokenMinter
) -> None:
    with transaction(db) as session:
        repository.insert_jobs_bulk(session, [("noop", i, i % 11) for i in range(1, 2001)], 3)
    env = base_env(db_url, tmp_path, token_minter)
    log = tmp_path / "procs.log"
    with api_process(env, log) as url:
        env["MEDIANEST_INFERENCE_URL"] = url
        workers = start_worker(env, log, "--concurrency", "4", "--batch", "10",
                               "--task-type", "noop")  # fmt: skip
        try:
            wait_until(lambda: count_status(db, "completed") == 2000, "2000 completed jobs", 90)
        finally:
            assert stop(workers) == 0, log.read_text()[-3000:]
    with transaction(db) as session:
        attempts = session.execute(select(JobAttempt.job_id, JobAttempt.outcome)).all()
        results = session.scalars(select(Job.result)).all()
    per_job = Counter(job_id for job_id, _ in attempts)
    assert len(per_job) == 2000
    assert set(per_job.values()) == {1}, "a job was claimed twice"
    assert {outcome for _, outcome in attempts} == {"completed"}
    pids = Counter(r["pid"] for r in results if r)
    assert sum(pids.values()) == 2000
    assert len(pids) == 4, f"expected 4 worker processes to share the work: {pids}"


@on_postgres
def test_sigkilled_worker_job_is_finished_by_another_after_lease_expiry(
    pg_url: str, db: Database, tmp_path: Path, token_minter: TokenMinter
) -> None:
    with transaction(db) as session:
        repository.insert_jobs_bulk(session, [("sleep", 1, 5)], 3)
    env = base_env(pg_url, tmp_path, token_minter, INFERENCE_LEASE_S="1.5",
                   INFERENCE_REAPER_INTERVAL_S="0.3", INFERENCE_TEST_SLEEP_S="3")  # fmt: skip
    log = tmp_path / "procs.log"
    with api_process(env, log) as url:
        env["MEDIANEST_INFERENCE_URL"] = url
        victim = start_worker(env, log, "--concurrency", "1", "--task-type", "sleep")
        job = wait_until(lambda: _processing(db), "the job to be claimed", 30)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        rescuer = start_worker(env, log, "--concurrency", "1", "--task-type", "sleep")
        try:
            wait_until(lambda: count_status(db, "completed") == 1, "the job to complete", 30)
        finally:
            assert stop(rescuer) == 0
    with transaction(db) as session:
        history = [(a.worker_id, a.outcome) for a in repository.attempts_of(session, job.id)]
        final = session.get(Job, job.id)
    assert final is not None
    assert [outcome for _, outcome in history] == ["expired", "completed"]
    assert history[0][0] == job.worker_id != history[1][0]
    assert final.attempts == 2
    assert final.result is not None
    assert final.result["pid"] == rescuer.pid


@on_postgres
def test_hung_worker_loses_its_job_and_its_late_result_is_refused(
    pg_url: str, db: Database, tmp_path: Path, token_minter: TokenMinter
) -> None:
    """SIGSTOP: the process lives but sends no heartbeat (a hang). Another worker finishes the
    job after the lease expires; woken up, the hung worker's result is refused and it goes on."""
    with transaction(db) as session:
        repository.insert_jobs_bulk(session, [("sleep", 1, 5)], 3)
    env = base_env(pg_url, tmp_path, token_minter, INFERENCE_LEASE_S="1.5",
                   INFERENCE_REAPER_INTERVAL_S="0.3", INFERENCE_TEST_SLEEP_S="2")  # fmt: skip
    log = tmp_path / "procs.log"
    with api_process(env, log) as url:
        env["MEDIANEST_INFERENCE_URL"] = url
        hung_env = {**env, "MEDIANEST_LOG_LEVEL": "INFO"}
        hung = start_worker(hung_env, log, "--concurrency", "1", "--task-type", "sleep")
        job = wait_until(lambda: _processing(db), "the job to be claimed", 30)
        hung.send_signal(signal.SIGSTOP)
        rescuer = start_worker(env, log, "--concurrency", "1", "--task-type", "sleep")
        try:
            wait_until(lambda: count_status(db, "completed") == 1, "the job to complete", 30)
            assert httpx.get(f"{url}/health", timeout=5).status_code == 200
            hung.send_signal(signal.SIGCONT)  # wakes up mid-task, finishes, reports late
            wait_until(lambda: _refused(log), "the hung worker to learn it lost the job", 30)
        finally:
            hung.send_signal(signal.SIGCONT)
            assert stop(rescuer) == 0
            assert stop(hung) == 0, log.read_text()[-3000:]
    with transaction(db) as session:
        history = [(a.worker_id, a.outcome) for a in repository.attempts_of(session, job.id)]
        final = session.get(Job, job.id)
    assert final is not None
    assert [outcome for _, outcome in history] == ["expired", "completed"]
    assert final.result is not None
    assert final.result["pid"] == rescuer.pid


def _refused(log: Path) -> bool:
    text = log.read_text()
    return "lease lost" in text or "report refused" in text


def _processing(db: Database) -> Job | None:
    with transaction(db) as session:
        return session.scalars(select(Job).where(Job.status == "processing")).first()


@on_postgres
def test_sigterm_finishes_the_job_in_hand_and_exits_zero(
    pg_url: str, db: Database, tmp_path: Path, token_minter: TokenMinter
) -> None:
    with transaction(db) as session:
        repository.insert_jobs_bulk(session, [("sleep", 1, 5)], 3)
    env = base_env(pg_url, tmp_path, token_minter, INFERENCE_TEST_SLEEP_S="2")
    log = tmp_path / "procs.log"
    with api_process(env, log) as url:
        env["MEDIANEST_INFERENCE_URL"] = url
        worker = start_worker(env, log, "--concurrency", "2", "--task-type", "sleep")
        wait_until(lambda: _processing(db), "the job to be claimed", 30)
        assert stop(worker) == 0
        assert count_status(db, "completed") == 1
