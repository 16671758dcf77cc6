"""The inference metrics read from real parts: vector counts from the embedded vector store (only
once it is open), job durations from finished-job events, nothing before the lifespan binds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prometheus_client.exposition import generate_latest

from medianest.common.metrics import Metrics
from medianest.inference.config import Settings
from medianest.inference.metrics import VECTOR_STORE, InferenceMetrics
from medianest.inference.results.vectors import VectorIndex, open_vector_index
from medianest.inference.service.runtime import Runtime
from medianest.inference.tasks import Resources

pytestmark = [pytest.mark.inference]


def _sample(metrics: Metrics, name: str, labels: str = "") -> float | None:
    for line in generate_latest(metrics.registry).decode().splitlines():
        if line.startswith(f"{name}{labels} ") or line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_vector_counts_appear_once_the_store_is_open(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, log_json=False)
    resources = Resources(settings, {VECTOR_STORE: open_vector_index})
    metrics = Metrics()
    inference = InferenceMetrics(metrics)
    inference.rt = Runtime(settings, None, resources)
    try:
        assert _sample(metrics, "medianest_vectors", 'collection="image_embeddings"') is None
        index: VectorIndex = resources.get(VECTOR_STORE)
        for media in range(3):
            vector = np.random.default_rng(media).normal(size=index.image.dim)
            index.put_image(media, list(vector / np.linalg.norm(vector)))
        assert _sample(metrics, "medianest_vectors", 'collection="image_embeddings"') == 3
    finally:
        resources.close()


def test_finished_job_events_feed_the_duration_histogram() -> None:
    metrics = Metrics()
    inference = InferenceMetrics(metrics)
    inference.observe({"event": "completed", "task_type": "noop", "run_ms": 1500})
    inference.observe({"event": "failed", "task_type": "noop", "run_ms": 20, "retrying": False})
    inference.observe({"event": "started", "task_type": "noop"})
    done = 'outcome="completed",task="noop"'
    assert _sample(metrics, "medianest_job_duration_seconds_count", done) == 1
    assert _sample(metrics, "medianest_job_duration_seconds_sum", done) == 1.5
    failed = 'outcome="error",task="noop"'
    assert _sample(metrics, "medianest_job_duration_seconds_count", failed) == 1
    assert _sample(metrics, "medianest_jobs") is None  # no database bound yet: nothing claimed
