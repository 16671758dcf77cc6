"""Task types: worker-side batch handlers and API-side result sinks (see :mod:`.base`)."""

from medianest.inference.tasks.base import (
    BadInputError,
    InvalidResult,
    JsonResultSink,
    Resources,
    ResultSink,
    SinkContext,
    TaskContext,
    TaskJob,
    TaskOutcome,
    TaskType,
    run_per_job,
)
from medianest.inference.tasks.registry import (
    available_tasks,
    get_task,
    register_resource,
    register_task,
)

__all__ = [
    "BadInputError",
    "InvalidResult",
    "JsonResultSink",
    "Resources",
    "ResultSink",
    "SinkContext",
    "TaskContext",
    "TaskJob",
    "TaskOutcome",
    "TaskType",
    "available_tasks",
    "get_task",
    "register_resource",
    "register_task",
    "run_per_job",
]
