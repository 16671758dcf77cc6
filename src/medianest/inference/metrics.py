"""The inference service's metrics: queue depth per state and task, job durations, workers,
change-feed lag and vector counts (on top of the request metrics every service has).

Queue and worker figures come from the jobs database at scrape time, so every API process in a
distributed deployment reports the same truth; job durations are observed in the process that
accepted the outcome (sum them over processes in PromQL).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from medianest.common.db import Database
from medianest.common.events import Event
from medianest.common.metrics import CallbackCollector, Metrics
from medianest.inference.db import transaction
from medianest.inference.follower import FollowerStatus
from medianest.inference.repository import jobs as repository
from medianest.inference.service.runtime import Runtime

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
VECTOR_STORE = "vector_store"


class InferenceMetrics:
    """Made with the app; the lifespan binds what the collectors read (DB, runtime, follower)."""

    def __init__(self, metrics: Metrics) -> None:
        self.db: Database | None = None
        self.rt: Runtime | None = None
        self.follower: FollowerStatus | None = None
        self.durations = Histogram(
            "medianest_job_duration_seconds",
            "Run time of a job's final attempt (claim to accepted outcome)",
            ["task", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=metrics.registry,
        )
        for collect in (self._queue, self._workers, self._follower, self._vectors):
            metrics.registry.register(CallbackCollector(collect))

    def bind(self, db: Database, rt: Runtime, follower: FollowerStatus | None) -> None:
        self.db, self.rt, self.follower = db, rt, follower

    def observe(self, event: Event) -> None:
        """Job-event observer: a finished job's run time (events arrive after commit)."""
        run_ms = event.get("run_ms")
        if event.get("event") not in ("completed", "failed") or not isinstance(run_ms, int):
            return
        outcome = "completed" if event["event"] == "completed" else "error"
        self.durations.labels(str(event.get("task_type")), outcome).observe(run_ms / 1000)

    def _queue(self) -> Iterable[Metric]:
        if self.db is None:
            return []
        with transaction(self.db) as session:
            rows = repository.counts_by_task_status(session)
        jobs = GaugeMetricFamily(
            "medianest_jobs", "Jobs in the queue table by state and task", labels=["state", "task"]
        )
        for task, state, count in rows:
            jobs.add_metric([state, task], count)
        return [jobs]

    def _workers(self) -> Iterable[Metric]:
        if self.db is None or self.rt is None:
            return []
        with transaction(self.db) as session:
            seen = [(w.worker_id, w.last_seen_at) for w in repository.workers_seen(session)]
        last = GaugeMetricFamily(
            "medianest_worker_last_heartbeat_timestamp_seconds",
            "When each worker last claimed or heartbeated (Unix time; recorded every ~2 s)",
            labels=["worker_id"],
        )
        for worker_id, at_ms in seen:
            last.add_metric([worker_id], at_ms / 1000)
        live = self.rt.settings.lease_s
        alive = GaugeMetricFamily(
            "medianest_workers_alive", f"Workers seen in the last lease period ({live:g} s)"
        )
        alive.add_metric([], sum(1 for _, at in seen if time.time() - at / 1000 <= live))
        return [last, alive]

    def _follower(self) -> Iterable[Metric]:
        status = self.follower
        if status is None or status.last_sync_at is None:
            return []
        lag = GaugeMetricFamily(
            "medianest_follower_lag_seconds",
            "Age of the newest change applied while more were waiting (0 when caught up)",
        )
        lag.add_metric([], status.lag_s)
        cursor = GaugeMetricFamily(
            "medianest_follower_cursor", "Position of the follower in the store's change feed"
        )
        cursor.add_metric([], status.cursor or 0)
        synced = GaugeMetricFamily(
            "medianest_follower_last_sync_timestamp_seconds",
            "When the follower last read the change feed successfully (Unix time)",
        )
        synced.add_metric([], status.last_sync_at)
        return [lag, cursor, synced]

    def _vectors(self) -> Iterable[Metric]:
        # never open the store just to count it
        if self.rt is None or not self.rt.resources.opened(VECTOR_STORE):
            return []
        index = self.rt.resources.get(VECTOR_STORE)  # a VectorIndex over the VectorStore
        counts: dict[str, int] = getattr(index, "store", index).active_counts()
        vectors = GaugeMetricFamily(
            "medianest_vectors", "Vectors of the active model per collection", labels=["collection"]
        )
        for name, count in counts.items():
            vectors.add_metric([name], count)
        return [vectors]
