"""``medianest worker``: K worker processes (spawned), each running :class:`Worker`.

The parent forwards SIGTERM/SIGINT to its children, restarts a child that crashed, and exits 0
once every child has stopped. With ``concurrency == 1`` the worker runs in this process.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import time
import uuid
from multiprocessing.process import BaseProcess
from typing import Any

from medianest.inference.auth_client import TokenSource
from medianest.inference.config import WorkerSettings, split_names
from medianest.inference.store_client import StoreClient
from medianest.inference.tasks import TaskType, available_tasks
from medianest.inference.worker.client import InferenceClient
from medianest.inference.worker.runner import Worker

log = logging.getLogger("medianest.worker")
RESTART_MIN_S = 2.0


def worker_tasks(settings: WorkerSettings, names: list[str] | None = None) -> dict[str, TaskType]:
    tasks = available_tasks(enable_test=settings.enable_test_tasks)
    wanted = names or split_names(settings.task_types)
    unknown = sorted(set(wanted) - set(tasks))
    if unknown:
        raise ValueError(f"unknown task types: {', '.join(unknown)}")
    return {n: tasks[n] for n in wanted} if wanted else tasks


def build_worker(settings: WorkerSettings, names: list[str] | None = None) -> Worker:
    auth = TokenSource(
        token=settings.token,
        username=settings.username,
        password=settings.password,
        auth_url=settings.auth_url,
    )
    source = auth if auth.configured else None
    timeout = settings.http_timeout_s
    return Worker(
        worker_id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        api=InferenceClient(settings.inference_url, source, timeout),
        heartbeat_api=InferenceClient(settings.inference_url, source, timeout),
        media=StoreClient(settings.media_store_url, source, timeout, settings.store_outage_wait_s),
        tasks=worker_tasks(settings, names),
        batch=settings.batch,
        claim_wait_s=settings.claim_wait_s,
        grace_s=settings.grace_s,
    )


def run_one(settings_data: dict[str, Any], names: list[str] | None) -> int:
    """Body of one worker process: SIGTERM/SIGINT stop claiming and finish the jobs in hand."""
    from medianest.common.logging import configure_logging

    settings = WorkerSettings(**settings_data)
    # models size their thread pools by it (cores / processes): CLI flags reach them this way
    os.environ["MEDIANEST_WORKER_CONCURRENCY"] = str(settings.concurrency)
    configure_logging(settings.log_level, settings.log_json)
    worker = build_worker(settings, names)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    return worker.run()


def _child(settings_data: dict[str, Any], names: list[str] | None) -> None:
    raise SystemExit(run_one(settings_data, names))


def run_workers(settings: WorkerSettings, names: list[str] | None = None) -> int:
    worker_tasks(settings, names)  # fail fast on unknown task types
    data = settings.model_dump(by_alias=False)
    if settings.concurrency == 1:
        return run_one(data, names)
    return _supervise(settings.concurrency, data, names)


def _supervise(count: int, data: dict[str, Any], names: list[str] | None) -> int:
    ctx = mp.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        proc = ctx.Process(target=_child, args=(data, names), daemon=False)
        proc.start()
        return proc

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.pid and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    procs = [start() for _ in range(count)]
    started = [time.monotonic()] * count
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping or any(p.is_alive() for p in procs):
        time.sleep(0.2)
        for i, proc in enumerate(procs):
            # restart a crashed child, at most every RESTART_MIN_S (a broken config must not spin)
            if stopping or proc.is_alive() or time.monotonic() - started[i] < RESTART_MIN_S:
                continue
            log.warning("worker process died; restarting", extra={"exitcode": proc.exitcode})
            procs[i], started[i] = start(), time.monotonic()
    return 0
