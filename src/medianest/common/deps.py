"""FastAPI dependencies shared by services: the per-request database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from medianest.common.db import Database


def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    yield from _database(request).session()


def get_read_session(request: Request) -> Iterator[Session]:
    yield from _database(request).read_session()


# scope="function": the transaction commits before the response is sent, so a client that got a
# 2xx can read its write, and a failed commit is an error response, not a 2xx followed by a loss.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
