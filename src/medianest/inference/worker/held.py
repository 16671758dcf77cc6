"""Jobs a worker holds, and the heartbeat thread that keeps their leases alive."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from medianest.inference.tasks import TaskJob
from medianest.inference.worker.client import ApiUnavailable, InferenceClient

log = logging.getLogger("medianest.worker")


@dataclass
class Held:
    job: TaskJob
    progress: int | None = None
    cancelled: bool = False
    lost: bool = False
    done: bool = False


class HeldJobs:
    """Thread-safe state of the jobs in hand (shared by the runner and the heartbeat thread)."""

    def __init__(self, jobs: list[TaskJob]) -> None:
        self._lock = threading.Lock()
        self._jobs = {job.job_id: Held(job) for job in jobs}

    def active(self) -> list[Held]:
        with self._lock:
            return [h for h in self._jobs.values() if not (h.done or h.lost)]

    def get(self, job_id: str) -> Held:
        return self._jobs[job_id]

    def set_progress(self, job_id: str, pct: int) -> None:
        with self._lock:
            self._jobs[job_id].progress = max(0, min(100, int(pct)))

    def is_cancelled(self, job_id: str) -> bool:
        held = self._jobs.get(job_id)
        return held is None or held.cancelled or held.lost

    def mark(self, job_id: str, *, cancelled: bool = False, lost: bool = False) -> None:
        with self._lock:
            held = self._jobs[job_id]
            held.cancelled = held.cancelled or cancelled
            held.lost = held.lost or lost

    def finish(self, job_id: str) -> None:
        with self._lock:
            self._jobs[job_id].done = True


class Heartbeat(threading.Thread):
    """Extends the leases of the held jobs every ``interval_s`` until stopped."""

    def __init__(
        self, api: InferenceClient, worker_id: str, held: HeldJobs, interval_s: float
    ) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self._api, self._worker_id, self._held = api, worker_id, held
        self._interval = interval_s
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            for held in self._held.active():
                self._beat(held)

    def _beat(self, held: Held) -> None:
        job = held.job
        try:
            lease = self._api.heartbeat(job.job_id, self._worker_id, job.attempts, held.progress)
        except ApiUnavailable as exc:
            log.warning("heartbeat failed", extra={"job_id": job.job_id, "error": str(exc)})
            return
        if lease is None:
            log.info("lease lost", extra={"job_id": job.job_id})
            self._held.mark(job.job_id, lost=True)
        elif lease.cancel_requested:
            self._held.mark(job.job_id, cancelled=True)
