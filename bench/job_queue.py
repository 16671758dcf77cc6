"""Queue throughput: jobs/s through claim → complete, system vs bare database round-trips.

For SQLite (always) and PostgreSQL (when ``MEDIANEST_TEST_POSTGRES_URL`` is set) and for 1, 2 and
4 workers, this runs in the same process tree:

* system: a real uvicorn inference API + ``medianest worker --concurrency K`` processes running
  the test-only ``noop`` task over HTTP (claim batches, one batched report per batch);
* bare: K processes doing the same claim (one UPDATE ... RETURNING per batch) and one
  complete UPDATE per job directly on the database, with no HTTP and no API in between.

Throughput is measured from the jobs' own timestamps: N / (last completed_at - first started_at).
Usage: ``python bench/job_queue.py [--jobs 2000] [--batch 10] [--workers 1,2,4]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Keep bench/ off the import path so its scripts never shadow a library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))

from bench.report import record  # noqa: E402
from tests.inference.procs import api_process, start_worker  # noqa: E402

from medianest.common.db import Database, normalise_url  # noqa: E402
from medianest.inference.db import migrate, transaction  # noqa: E402
from medianest.inference.models import Job, JobStatus  # noqa: E402
from medianest.inference.repository import jobs as repository  # noqa: E402
from medianest.inference.repository import queue  # noqa: E402


def make_token(tmp: Path) -> tuple[str, Path]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp / "public.pem"
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    now = int(time.time())
    claims = {
        "sub": "1", "permissions": ["ai_inference_worker"], "iat": now, "exp": now + 7200,
        "iss": "medianest-auth", "aud": "medianest", "typ": "access", "jti": "bench",
    }  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "bench"}), pem


def fresh_db(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'bench_{uuid.uuid4().hex[:6]}.db'}"
    else:
        admin = normalise_url(os.environ["MEDIANEST_TEST_POSTGRES_URL"])
        name = f"bench_queue_{uuid.uuid4().hex[:8]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = admin.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    return url


def drop_db(url: str) -> None:
    if url.startswith("sqlite"):
        return
    admin = normalise_url(os.environ["MEDIANEST_TEST_POSTGRES_URL"])
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def enqueue(db: Database, n: int) -> None:
    with transaction(db) as session:
        repository.insert_jobs_bulk(session, [("noop", i, 5) for i in range(1, n + 1)], 3)


def rate(db: Database, n: int, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    done_q = select(func.count()).where(Job.status == JobStatus.completed.value)
    span_q = select(func.min(Job.started_at), func.max(Job.completed_at))
    while time.monotonic() < deadline:
        with transaction(db) as session:
            if (session.scalar(done_q) or 0) >= n:
                first, last = session.execute(span_q).one()
                return float(n / max((last - first) / 1000, 1e-3))
        time.sleep(0.05)
    raise TimeoutError("jobs did not complete")


def bare_worker(url: str, batch: int) -> None:
    db = Database(url)
    worker_id = f"bare-{os.getpid()}"
    while True:
        with transaction(db) as session:
            claimed = queue.claim(session, worker_id, ["noop"], batch, 30_000)
        if not claimed:
            return
        for job in claimed:
            with transaction(db) as session:
                now = queue.now_ms()
                session.execute(
                    update(Job).where(Job.id == job.job_id, Job.worker_id == worker_id)
                    .values(status="completed", result={"ok": True}, completed_at=now,
                            updated_at=now, lease_expires_at=None)
                )  # fmt: skip


def run_bare(backend: str, tmp: Path, n: int, k: int, batch: int) -> float:
    url = fresh_db(backend, tmp)
    db = Database(url)
    try:
        enqueue(db, n)
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=bare_worker, args=(url, batch)) for _ in range(k)]
        for proc in procs:
            proc.start()
        result = rate(db, n)
        for proc in procs:
            proc.join()
        return result
    finally:
        db.dispose()
        drop_db(url)


def run_system(backend: str, tmp: Path, n: int, k: int, batch: int) -> float:
    url = fresh_db(backend, tmp)
    db = Database(url)
    token, pem = make_token(tmp)
    env = {"INFERENCE_DATABASE_URL": url, "MEDIANEST_HOME": str(tmp),
           "MEDIANEST_PUBLIC_KEY_PATH": str(pem), "INFERENCE_FOLLOWER_ENABLED": "false",
           "INFERENCE_ENABLE_TEST_TASKS": "1", "MEDIANEST_LOG_LEVEL": "WARNING",
           "MEDIANEST_WORKER_TOKEN": token, "MEDIANEST_WORKER_CLAIM_WAIT_S": "1"}  # fmt: skip
    log = tmp / "bench.log"
    try:
        with api_process(env, log) as api_url:
            env["MEDIANEST_INFERENCE_URL"] = api_url
            workers = start_worker(env, log, "--concurrency", str(k), "--batch", str(batch),
                                   "--task-type", "noop")  # fmt: skip
            try:
                time.sleep(2.0 + k)  # let the worker processes start before the jobs arrive
                enqueue(db, n)
                return rate(db, n)
            finally:
                workers.send_signal(signal.SIGTERM)
                workers.wait(timeout=60)
    finally:
        db.dispose()
        drop_db(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("MEDIANEST_TEST_POSTGRES_URL") else []
    )
    print(f"queue bench: {args.jobs} noop jobs, batch {args.batch}, cpus {os.cpu_count()}")
    print(f"{'backend':<11}{'workers':>8}{'system j/s':>12}{'bare j/s':>10}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for backend in backends:
            for k in (int(x) for x in args.workers.split(",")):
                system = run_system(backend, tmp, args.jobs, k, args.batch)
                bare = run_bare(backend, tmp, args.jobs, k, args.batch)
                print(f"{backend:<11}{k:>8}{system:>12.0f}{bare:>10.0f}{system / bare:>7.2f}",
                      flush=True)  # fmt: skip
                record(f"queue jobs/s vs bare DB, {backend}, {k} worker(s)", system,
                       baseline=bare, unit="jobs/s", goal=(">=", 0.5),
                       baseline_name="bare")  # fmt: skip


if __name__ == "__main__":
    main()
