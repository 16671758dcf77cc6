"""Prometheus metrics: one registry per app, request metrics by route template, ``/metrics``.

Every service app gets a :class:`Metrics` (on ``app.state.metrics``) with the HTTP request counter
and latency histogram, and a free-disk gauge for its data dir; services add their own metrics and
collectors to ``metrics.registry``. Collectors that read a database run at scrape time, so their
figures are right however many processes serve the same database.

``/metrics`` is protected: it answers a bearer token equal to ``MEDIANEST_METRICS_TOKEN`` (what a
Prometheus server holds, compared in constant time) or an administrator's access token, and is 401
otherwise. Labels use the route's path template (``/entity/{entity_id}``), never the raw path, so
their number is bounded by the number of routes.
"""

from __future__ import annotations

import hmac
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medianest.common.errors import Forbidden, Unauthorized
from medianest.common.security import Credentials, get_optional_user

UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The registry of one service app and the request metrics every service has."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "medianest_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "medianest_http_request_duration_seconds",
            "Time to answer an HTTP request (until the response is complete)",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if data_dir is not None:
            self.registry.register(DiskCollector(data_dir))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DiskCollector(Collector):
    """Free and total bytes of the filesystem holding the data dir, read at scrape time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        try:
            usage = shutil.disk_usage(self.path)
        except OSError:
            return []
        free = GaugeMetricFamily(
            "medianest_disk_free_bytes", "Free bytes where the data dir is", labels=["path"]
        )
        free.add_metric([str(self.path)], usage.free)
        total = GaugeMetricFamily(
            "medianest_disk_total_bytes", "Size of the filesystem of the data dir", labels=["path"]
        )
        total.add_metric([str(self.path)], usage.total)
        return [free, total]


class CallbackCollector(Collector):
    """A collector from a function (e.g. one database query per scrape); errors skip a scrape."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._collect())
        except Exception:  # a database outage must not turn /metrics into a 500
            return []


def route_template(app: FastAPI, scope: Scope) -> str:
    """The path template of the route that served ``scope`` (bounded label values)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in app.router.routes:  # e.g. a 405, or a request refused before routing
        match, _ = candidate.matches(scope)
        if match != Match.NONE:
            return str(getattr(candidate, "path", UNMATCHED))
    return UNMATCHED


class MetricsMiddleware:
    """Count and time every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, metrics: Metrics) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception escaping the app is answered 500 by the server

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(self.fastapi_app, scope)
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], route, status, elapsed)


def require_metrics_access(request: Request, credentials: Credentials) -> None:
    """The scrape token (``MEDIANEST_METRICS_TOKEN``) or an administrator's access token."""
    if credentials is None:
        raise Unauthorized("metrics need the metrics token or an admin token")
    expected: str | None = getattr(request.app.state.settings, "metrics_token", None)
    if expected and hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        return
    user = get_optional_user(request, credentials, None)
    if user is None or not user.is_admin:
        raise Forbidden("metrics need the metrics token or an admin token")


def _metrics_of(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(_metrics_of)]


def metrics_endpoint(
    metrics: MetricsDep, _: Annotated[None, Depends(require_metrics_access)]
) -> Response:
    """Prometheus metrics (text exposition format); the metrics token or an admin token."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, data_dir: Path | None) -> Metrics:
    """Create the app's metrics, count every request, and serve ``GET /metrics``."""
    metrics = Metrics(data_dir)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, fastapi_app=app, metrics=metrics)
    app.add_api_route(
        "/metrics",
        metrics_endpoint,
        methods=["GET"],
        tags=["meta"],
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "the metrics"},
            401: {"description": "no token, or neither a valid token nor the metrics token"},
            403: {"description": "a valid token of a user who is not an administrator"},
        },
    )
    return metrics
