"""One worker process: claim (long-poll) → run handlers in a thread → report; SIGTERM-aware."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from itertools import groupby

from medianest.contracts.inference import ClaimedJob, JobReport
from medianest.inference.tasks import BadInputError, TaskContext, TaskJob, TaskOutcome, TaskType
from medianest.inference.tasks.base import MediaSource
from medianest.inference.worker.client import ApiUnavailable, InferenceClient
from medianest.inference.worker.held import Heartbeat, HeldJobs

log = logging.getLogger("medianest.worker")
SHUTDOWN_ERROR = "worker shutting down"


class Worker:
    """The claim/run/report loop; ``stop`` ends it after the jobs in hand (within ``grace_s``)."""

    def __init__(
        self,
        *,
        worker_id: str,
        api: InferenceClient,
        heartbeat_api: InferenceClient,
        media: MediaSource,
        tasks: dict[str, TaskType],
        batch: int = 8,
        claim_wait_s: float = 5.0,
        grace_s: float = 15.0,
    ) -> None:
        self.worker_id = worker_id
        self.api, self.heartbeat_api, self.media = api, heartbeat_api, media
        self.tasks = tasks
        self.batch, self.claim_wait_s, self.grace_s = batch, claim_wait_s, grace_s
        self.stop_event = threading.Event()
        self._stop_at: float | None = None
        self.processed = 0

    def stop(self) -> None:
        if self._stop_at is None:
            self._stop_at = time.monotonic()
        self.stop_event.set()

    def run(self) -> int:
        backoff = 0.5
        log.info("worker started", extra={"worker_id": self.worker_id, "tasks": list(self.tasks)})
        while not self.stop_event.is_set():
            try:
                claimed = self.api.claim(
                    self.worker_id, list(self.tasks), self.batch, self.claim_wait_s
                )
                backoff = 0.5
            except ApiUnavailable as exc:
                log.warning("claim failed", extra={"error": str(exc), "retry_s": backoff})
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if claimed:
                self.process([_task_job(j) for j in claimed], claimed[0].lease_s)
        log.info("worker stopped", extra={"worker_id": self.worker_id, "jobs": self.processed})
        return 0

    def process(self, jobs: list[TaskJob], lease_s: float) -> None:
        held = HeldJobs(jobs)
        beat = Heartbeat(self.heartbeat_api, self.worker_id, held, max(0.2, lease_s / 3))
        beat.start()
        try:
            ordered = sorted(jobs, key=lambda j: j.task_type)
            for task_type, group in groupby(ordered, key=lambda j: j.task_type):
                for batch in _chunks(list(group), self.tasks[task_type].max_batch):
                    self._run_batch(self.tasks[task_type], batch, held)
        finally:
            beat.stop()

    def _run_batch(self, task: TaskType, batch: list[TaskJob], held: HeldJobs) -> None:
        if self._grace_over():
            self._release(batch, held)
            return
        ctx = TaskContext(self.media, held.set_progress, held.is_cancelled)
        outcomes = self._call(task, batch, ctx)
        if outcomes is None:  # grace period over while the handler was still running
            self._release(batch, held)
            return
        reports = [
            report
            for job, outcome in zip(batch, outcomes, strict=True)
            if (report := _report_of(job, outcome, held)) is not None
        ]
        if reports:  # one request and one transaction for the whole batch
            self.api.report(self.worker_id, reports)
        self.processed += len(batch)

    def _call(
        self, task: TaskType, batch: list[TaskJob], ctx: TaskContext
    ) -> list[TaskOutcome] | None:
        """Run the handler in a daemon thread; None if shutdown's grace period ran out first."""
        future: Future[list[TaskOutcome]] = Future()
        thread = threading.Thread(
            target=_resolve, args=(future, lambda: task.handler(batch, ctx)), daemon=True
        )
        thread.start()
        while True:
            try:
                outcomes = future.result(timeout=0.1)
            except TimeoutError:
                if self._grace_over():
                    return None
                continue
            except Exception as exc:
                return [exc for _ in batch]
            if len(outcomes) != len(batch):
                error = RuntimeError(f"handler returned {len(outcomes)} outcomes for {len(batch)}")
                return [error for _ in batch]
            return outcomes

    def _release(self, batch: list[TaskJob], held: HeldJobs) -> None:
        for job in batch:
            held.finish(job.job_id)
        reports = [_failure(job, SHUTDOWN_ERROR, retryable=True) for job in batch]
        self.api.report(self.worker_id, reports)

    def _grace_over(self) -> bool:
        return self._stop_at is not None and time.monotonic() - self._stop_at > self.grace_s


def _report_of(job: TaskJob, outcome: TaskOutcome, held: HeldJobs) -> JobReport | None:
    """What to report for one job; None when the lease moved on (another worker owns it)."""
    state = held.get(job.job_id)
    held.finish(job.job_id)
    if state.lost:
        return None
    if state.cancelled:
        return _failure(job, "cancelled", retryable=False)
    if isinstance(outcome, BaseException):
        retryable = not isinstance(outcome, BadInputError)
        message = str(outcome) if not retryable else f"{type(outcome).__name__}: {outcome}"
        return _failure(job, message, retryable)
    return JobReport(job_id=job.job_id, attempt=job.attempts, result=outcome)


def _failure(job: TaskJob, error: str, retryable: bool) -> JobReport:
    return JobReport(
        job_id=job.job_id, attempt=job.attempts, error=error[:10_000], retryable=retryable
    )


def _resolve(future: Future[list[TaskOutcome]], fn: Callable[[], list[TaskOutcome]]) -> None:
    try:
        future.set_result(fn())
    except BaseException as exc:
        future.set_exception(exc)


def _chunks(items: list[TaskJob], size: int) -> list[list[TaskJob]]:
    size = max(1, size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _task_job(claimed: ClaimedJob) -> TaskJob:
    return TaskJob(
        job_id=claimed.job_id,
        task_type=claimed.task_type,
        media_store_id=claimed.media_store_id,
        attempts=claimed.attempts,
    )
