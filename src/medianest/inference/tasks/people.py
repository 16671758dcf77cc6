"""``person_grouping``: groups the faces waiting for it into persons, API side.

The worker's handler does nothing (it has no database nor vector store); the result sink runs
the grouping in the transaction that completes the job, in the API process that owns both.
Queued by the face sink after embeddings are stored, for the sentinel media id 0 (one active
grouping job at a time); a run handles at most ``INFERENCE_PERSON_BATCH`` faces and queues the
next job when more wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from medianest.inference.results.sinks import vector_index
from medianest.inference.service import person_grouping
from medianest.inference.tasks.base import SinkContext, TaskContext, TaskJob, TaskOutcome, TaskType
from medianest.inference.tasks.registry import register_resource, register_task

if TYPE_CHECKING:
    from medianest.inference.models import Job

SETTINGS = "settings"


def _handler(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:  # noqa: ARG001
    return [{"grouping": "requested"} for _ in jobs]


class PersonGroupingSink:
    def store(self, ctx: SinkContext, job: Job, result: Any) -> dict[str, Any] | None:  # noqa: ARG002
        settings = ctx.resources.get(SETTINGS)
        params = person_grouping.params_from(settings)
        limit = int(getattr(settings, "person_batch", 1000))
        report = person_grouping.run_grouping(ctx.session, vector_index(ctx), params, limit)
        return report.as_dict()

    def after_complete(self, ctx: SinkContext, job: Job) -> None:
        if job.result and int(job.result.get("remaining", 0)) > 0:
            person_grouping.enqueue_grouping(ctx.session)

    def delete(self, ctx: SinkContext, media_store_id: int) -> None:  # noqa: ARG002
        return None


register_resource(SETTINGS, lambda settings: settings)
register_task(
    TaskType(
        name=person_grouping.TASK,
        handler=_handler,
        sink=PersonGroupingSink(),
        description="Group embedded faces into persons (runs in the API; one job at a time)",
        max_batch=1,
        media_types=frozenset(),
    ),
    replace=True,
)
