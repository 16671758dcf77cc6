"""Dependencies of the inference routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from medianest.common.deps import DatabaseDep, ReadSessionDep, SessionDep, app_state
from medianest.common.events import Broadcaster
from medianest.contracts.ids import MAX_ID
from medianest.inference.events import JobSignal
from medianest.inference.service.runtime import Runtime

RuntimeDep = Annotated[Runtime, Depends(app_state("runtime", Runtime))]
Events = Annotated[Broadcaster, Depends(app_state("broadcaster", Broadcaster))]
Signal = Annotated[JobSignal, Depends(app_state("job_signal", JobSignal))]
Db = DatabaseDep
JobId = Annotated[str, Path(min_length=1, max_length=64)]
MediaPath = Annotated[int, Path(ge=1, le=MAX_ID)]
MediaQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
OptionalMedia = Annotated[int | None, Query(ge=1, le=MAX_ID)]
TaskType = Annotated[str, Path(min_length=1, max_length=64)]
WriteSession = SessionDep
ReadSession = ReadSessionDep
