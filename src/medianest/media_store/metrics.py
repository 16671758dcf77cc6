"""The media store's own metrics (on top of the request metrics every service has)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter

from medianest.common.metrics import Metrics


class StoreMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.upload_bytes = Counter(
            "medianest_upload_bytes",
            "Bytes of uploaded files accepted (stored: new content; duplicate: known content)",
            ["outcome"],
            registry=metrics.registry,
        )
        self.uploads = Counter(
            "medianest_uploads", "Files uploaded", ["outcome"], registry=metrics.registry
        )

    def uploaded(self, size: int, new_content: bool) -> None:
        outcome = "stored" if new_content else "duplicate"
        self.upload_bytes.labels(outcome).inc(size)
        self.uploads.labels(outcome).inc()


def _store_metrics(request: Request) -> StoreMetrics:
    metrics: StoreMetrics = request.app.state.store_metrics
    return metrics


StoreMetricsDep = Annotated[StoreMetrics, Depends(_store_metrics)]
