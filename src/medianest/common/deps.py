"""FastAPI dependencies shared by services: the per-request database session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.common.openapi import raises

T = TypeVar("T")


def app_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A typed dependency for an object the lifespan put on ``app.state``.

    Routes take ``Annotated[Kind, Depends(app_state("name", Kind))]`` parameters (each service's
    ``deps`` module names them) and never read ``request.app.state`` themselves.
    """

    def dependency(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    dependency.__name__ = f"app_state_{name}"
    dependency.__qualname__ = dependency.__name__
    dependency.__doc__ = f"The app's {kind.__name__} ({name})."
    return dependency


_database = app_state("db", Database)
DatabaseDep = Annotated[Database, Depends(_database)]


@raises(503)  # the database is down: 503 with Retry-After (common/errors.py)
def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    yield from _database(request).session()


@raises(503)
def get_read_session(request: Request) -> Iterator[Session]:
    yield from _database(request).read_session()


# scope="function": the transaction commits before the response is sent, so a client that got a
# 2xx can read its write, and a failed commit is an error response, not a 2xx followed by a loss.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
