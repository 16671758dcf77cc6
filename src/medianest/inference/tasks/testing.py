"""TEST-ONLY task types, available only when ``INFERENCE_ENABLE_TEST_TASKS=1``.

``noop`` returns at once (queue throughput tests and the benchmark); ``sleep`` sleeps
``INFERENCE_TEST_SLEEP_S`` seconds (default 1) while honouring cancellation (crash tests).
Neither touches the media store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from medianest.inference.tasks.base import TaskContext, TaskJob, TaskOutcome, TaskType
from medianest.inference.tasks.registry import register_task


def noop(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:  # noqa: ARG001
    pid = os.getpid()
    return [{"ok": True, "pid": pid, "attempt": job.attempts} for job in jobs]


def sleep(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    seconds = float(os.environ.get("INFERENCE_TEST_SLEEP_S", "1"))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(ctx.is_cancelled(job.job_id) for job in jobs):
            break
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    return [{"slept_s": seconds, "pid": os.getpid()} for _ in jobs]


register_task(TaskType(name="noop", handler=noop, test_only=True, max_batch=100), replace=True)
register_task(TaskType(name="sleep", handler=sleep, test_only=True), replace=True)
