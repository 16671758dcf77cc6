"""Dependencies of the inference routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from medianest.common.deps import ReadSessionDep, SessionDep
from medianest.inference.service.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WriteSession = SessionDep
ReadSession = ReadSessionDep
