"""Placeholders for the seed's ML task types until the models issue registers the real ones.

The API accepts these names now. Their worker handler looks the real implementation up lazily:
it imports ``medianest.inference.ml`` and the models issue's task module (which replaces these
registrations); if that fails or registers nothing, the job fails at once with "model not
installed" (never retried: retrying cannot install a model).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from medianest.inference.tasks import registry
from medianest.inference.tasks.base import (
    BadInputError,
    BatchHandler,
    TaskContext,
    TaskJob,
    TaskOutcome,
    TaskType,
)

ML_TASKS = {
    "image_embedding": "Image embedding vector and labels",
    "face_detection": "Face boxes, landmarks and confidence",
    "face_embedding": "Face detection, then one embedding per face",
}


def _placeholder_handler(name: str) -> BatchHandler:
    def handle(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
        real = _real_task(name)
        if real is None:
            error = BadInputError(f"model not installed for task type {name!r}")
            return [error for _ in jobs]
        return real.handler(jobs, ctx)

    handle.placeholder = True  # type: ignore[attr-defined]
    return handle


def _real_task(name: str) -> TaskType | None:
    try:
        importlib.import_module("medianest.inference.ml")
    except Exception:  # ImportError, or an ML stack that fails to initialise
        return None
    registry.load_ml_tasks()
    task = registry.get_task(name)
    if task is None or getattr(task.handler, "placeholder", False):
        return None
    return task


for _name, _description in ML_TASKS.items():
    if not registry.is_registered(_name):  # never shadow a real task registered earlier
        registry.register_task(
            TaskType(name=_name, handler=_placeholder_handler(_name), description=_description)
        )
