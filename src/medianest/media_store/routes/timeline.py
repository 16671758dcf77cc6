"""Timeline endpoints for the web app: month buckets, then one month's media."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from medianest.common.security import StoreRead
from medianest.media_store.routes.deps import ReadSession
from medianest.media_store.schemas import BucketItems, BucketQuery, TimelineBuckets, TimelineFilter
from medianest.media_store.service import timeline

router = APIRouter(prefix="/timeline", tags=["timeline"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid token (when reads require auth)"},
    403: {"description": "the token lacks media_store_read"},
    422: {"description": "invalid query parameters"},
}


@router.get("/buckets", response_model=TimelineBuckets, responses=ERRORS)
def list_buckets(
    _: StoreRead, session: ReadSession, query: Annotated[TimelineFilter, Query()]
) -> TimelineBuckets:
    """Months (UTC, by capture date) newest first, with their media counts."""
    return timeline.buckets(session, query)


@router.get("/bucket", response_model=BucketItems, responses=ERRORS)
def get_bucket(
    _: StoreRead, session: ReadSession, query: Annotated[BucketQuery, Query()]
) -> BucketItems:
    """One month's media as parallel arrays, newest capture first."""
    return timeline.bucket(session, query)
