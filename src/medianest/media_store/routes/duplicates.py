"""Duplicate endpoints: hash lookup, near duplicates, duplicate groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from medianest.common.openapi import errors
from medianest.common.security import StoreRead
from medianest.contracts.ids import MAX_ID
from medianest.media_store.routes.deps import Ctx, ReadSession
from medianest.media_store.schemas import (
    DuplicateGroups,
    LookupRequest,
    LookupResponse,
    NearDuplicates,
)
from medianest.media_store.service import duplicates

router = APIRouter(tags=["duplicates"])
Distance = Annotated[int | None, Query(ge=0, le=64)]


def _default_distance(ctx: Ctx, value: int | None) -> int:
    return value if value is not None else int(ctx.near_duplicate_distance)


@router.post(
    "/entity/lookup",
    response_model=LookupResponse,
    responses={422: {"description": "a malformed hash, or neither hashes nor labels"}},
)
def lookup_hashes(payload: LookupRequest, _: StoreRead, session: ReadSession) -> LookupResponse:
    """For up to 1,000 hashes and 1,000 exact labels: which are stored, as which entities."""
    return LookupResponse(
        results=duplicates.lookup(session, payload.hashes),
        label_results=duplicates.lookup_labels(session, payload.labels),
    )


@router.get(
    "/entity/{entity_id}/near-duplicates", response_model=NearDuplicates, responses=errors(404)
)
def near_duplicates(
    entity_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ctx: Ctx,
    _: StoreRead,
    session: ReadSession,
    max_distance: Distance = None,
) -> NearDuplicates:
    """Entities whose perceptual hash is within ``max_distance`` bits, nearest first."""
    distance = _default_distance(ctx, max_distance)
    return duplicates.near_duplicates(session, entity_id, distance)


@router.get("/duplicates", response_model=DuplicateGroups)
def duplicate_groups(
    ctx: Ctx, _: StoreRead, session: ReadSession, max_distance: Distance = None
) -> DuplicateGroups:
    """Groups of visually near-identical entities."""
    return duplicates.groups(session, _default_distance(ctx, max_distance))
