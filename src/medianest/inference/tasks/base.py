"""What a task type is: a worker-side batch handler plus an API-side result sink.

Worker side: ``handler(jobs, ctx)`` gets a batch of claimed jobs of ONE task type and returns one
outcome per job, in order: a JSON-able dict (success) or an exception (failure). Raising
:class:`BadInputError` (for one job or the whole batch) fails without retries; any other exception
is retried with backoff. Handlers run in a worker thread, never on an event loop.

API side: ``sink.store(ctx, job, result)`` validates the result posted by the worker and stores it
inside the transaction that completes the job (``ctx.session``); it returns the JSON kept on the
job row. Raising :class:`InvalidResult` fails the job with that message (its writes are rolled
back to a savepoint). ``sink.delete(ctx, media_store_id)`` removes stored results when the media is
deleted in the store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from medianest.inference.models import Job

MAX_RESULT_BYTES = 2_000_000


class BadInputError(Exception):
    """The input itself is bad (undecodable, missing media): fail at once, never retry."""


class InvalidResult(Exception):
    """A worker posted a result the sink refuses; the job fails with this message."""


@dataclass(frozen=True)
class TaskJob:
    """A claimed job as a handler sees it: ids only, never database objects."""

    job_id: str
    task_type: str
    media_store_id: int
    attempts: int = 1


class MediaSource(Protocol):
    """How a handler reads media from the store (over HTTP, with the worker's token)."""

    def preview(self, media_store_id: int) -> bytes: ...

    def file(self, media_store_id: int) -> bytes: ...


@dataclass
class TaskContext:
    """What a handler may use: the media source, progress reporting and cancellation checks."""

    media: MediaSource
    report_progress: Callable[[str, int], None] = lambda _job_id, _pct: None
    is_cancelled: Callable[[str], bool] = lambda _job_id: False
    options: Mapping[str, Any] = field(default_factory=dict)


TaskOutcome = dict[str, Any] | BaseException
BatchHandler = Callable[[Sequence[TaskJob], TaskContext], list[TaskOutcome]]


@dataclass
class SinkContext:
    """What a sink may use, API side: the open transaction and lazily opened resources."""

    session: Session
    resources: Resources


class ResultSink(Protocol):
    def store(self, ctx: SinkContext, job: Job, result: Any) -> dict[str, Any] | None: ...

    def delete(self, ctx: SinkContext, media_store_id: int) -> None: ...


class JsonResultSink:
    """Default sink: the result must be a JSON object of bounded size; kept on the job only."""

    writes_rows = False  # validates only: the report needs no savepoint around it

    def __init__(self, validate: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._validate = validate

    def store(self, ctx: SinkContext, job: Job, result: Any) -> dict[str, Any] | None:  # noqa: ARG002
        data = require_json_object(result)
        if self._validate is not None:
            self._validate(data)
        return data

    def delete(self, ctx: SinkContext, media_store_id: int) -> None:  # noqa: ARG002
        return None


def require_json_object(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise InvalidResult(f"result must be a JSON object, got {type(result).__name__}")
    try:
        size = len(json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidResult(f"result is not valid JSON: {exc}") from exc
    if size > MAX_RESULT_BYTES:
        raise InvalidResult(f"result too large ({size} bytes > {MAX_RESULT_BYTES})")
    return result


ResourceFactory = Callable[[Any], Any]
"""Builds a resource (e.g. the vector store) from the inference Settings; may have ``close()``."""


class Resources:
    """Resources of the API process, opened on first use and closed at shutdown."""

    def __init__(self, settings: Any, factories: Mapping[str, ResourceFactory]) -> None:
        self._settings = settings
        self._factories = factories
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._open:
                if name not in self._factories:
                    raise KeyError(f"no resource registered as {name!r}")
                self._open[name] = self._factories[name](self._settings)
            return self._open[name]

    def opened(self, name: str) -> bool:
        return name in self._open

    def close(self) -> None:
        with self._lock:
            for value in self._open.values():
                close = getattr(value, "close", None)
                if callable(close):
                    close()
            self._open.clear()


@dataclass(frozen=True)
class TaskType:
    """A registered task type. ``media_types`` selects what the change-feed pipeline feeds it."""

    name: str
    handler: BatchHandler
    sink: ResultSink = field(default_factory=JsonResultSink)
    description: str = ""
    max_batch: int = 32
    media_types: frozenset[str] = frozenset({"image", "video"})
    test_only: bool = False


def run_per_job(
    jobs: Sequence[TaskJob], fn: Callable[[TaskJob], dict[str, Any]]
) -> list[TaskOutcome]:
    """Adapter for handlers without a real batch path: one call per job, errors kept per job."""
    outcomes: list[TaskOutcome] = []
    for job in jobs:
        try:
            outcomes.append(fn(job))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes
