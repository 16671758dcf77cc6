"""Change feed endpoints: replay from a cursor, and live Server-Sent Events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from medianest.common.events import sse_stream
from medianest.common.security import StoreRead
from medianest.contracts.ids import MAX_CURSOR
from medianest.media_store import repository as repo
from medianest.media_store.feed import to_record
from medianest.media_store.routes.deps import Events, ReadSession, StoreSettings
from medianest.media_store.schemas import ChangeRecord, ChangesPage

router = APIRouter(tags=["changes"])


@router.get("/changes", response_model=ChangesPage)
def list_changes(
    _: StoreRead,
    session: ReadSession,
    since: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ChangesPage:
    """Committed changes after cursor ``since``, in cursor order."""
    rows = repo.changes_since(session, since, limit)
    items = [ChangeRecord.model_validate(to_record(r)) for r in rows]
    return ChangesPage(items=items, next_cursor=items[-1].cursor if items else since)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def change_events(
    request: Request, _: StoreRead, broadcaster: Events, settings: StoreSettings
) -> StreamingResponse:
    """Server-Sent Events: one ``change`` event per committed change."""
    stream = sse_stream(
        broadcaster,
        request.is_disconnected,
        event_name=lambda _e: "change",
        keepalive_s=settings.sse_keepalive_s,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
