"""The task registry: name → :class:`TaskType`, plus API-side resources (e.g. the vector store).

Registration happens at import time of the modules listed in :data:`TASK_MODULES`; the models
issue adds its modules there (or registers from ``medianest.inference.ml.tasks``, which is
imported best-effort) with ``register_task(TaskType(...), replace=True)``.
"""

from __future__ import annotations

import importlib
import logging
import threading

from medianest.inference.tasks.base import ResourceFactory, ResultSink, TaskType

log = logging.getLogger("medianest.inference.tasks")

TASK_MODULES = (
    "medianest.inference.tasks.image_info",
    "medianest.inference.tasks.ml",
    "medianest.inference.tasks.testing",
    "medianest.inference.tasks.people",
)
ML_TASK_MODULE = "medianest.inference.ml.tasks"
"""Optional module of the models issue that registers the real ML task types."""

_tasks: dict[str, TaskType] = {}
_resources: dict[str, ResourceFactory] = {}
_lock = threading.Lock()
_loaded = False


def register_task(task: TaskType, *, replace: bool = False) -> None:
    with _lock:
        if task.name in _tasks and not replace:
            raise ValueError(f"task type {task.name!r} is already registered")
        _tasks[task.name] = task


def is_registered(name: str) -> bool:
    return name in _tasks


def register_resource(name: str, factory: ResourceFactory) -> None:
    """Declare an API-side resource (opened lazily by the first sink that asks for it)."""
    _resources[name] = factory


def resource_factories() -> dict[str, ResourceFactory]:
    load_builtin_tasks()
    return dict(_resources)


def load_builtin_tasks() -> None:
    global _loaded
    if _loaded:
        return
    for name in TASK_MODULES:
        importlib.import_module(name)
    _loaded = True
    load_ml_tasks()


def load_ml_tasks() -> bool:
    """Import the models issue's task module if it exists; False when the ML stack is absent."""
    try:
        importlib.import_module(ML_TASK_MODULE)
    except ImportError as exc:
        log.info("ML task module not available", extra={"error": repr(exc)})
        return False
    except Exception as exc:  # a broken ML stack must not take the queue down
        log.warning("ML task module failed to import", extra={"error": repr(exc)})
        return False
    return True


def get_task(name: str, *, enable_test: bool = False) -> TaskType | None:
    load_builtin_tasks()
    task = _tasks.get(name)
    if task is None or (task.test_only and not enable_test):
        return None
    return task


def available_tasks(*, enable_test: bool = False) -> dict[str, TaskType]:
    load_builtin_tasks()
    return {n: t for n, t in _tasks.items() if enable_test or not t.test_only}


def all_sinks() -> list[ResultSink]:
    """Every distinct sink (for the media-deleted hook)."""
    load_builtin_tasks()
    seen: dict[int, ResultSink] = {}
    for task in _tasks.values():
        seen.setdefault(id(task.sink), task.sink)
    return list(seen.values())
