"""Search over analysis results: similar images and faces, labels, face crops, per-media view.

Plain ``def`` endpoints: vector search and image cropping block, so they run in the thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from medianest.common.openapi import errors
from medianest.common.security import SearchUser
from medianest.inference.results.schemas import (
    Analysis,
    FaceList,
    FaceRead,
    LabelSearch,
    SimilarFaces,
    SimilarImages,
)
from medianest.inference.results.sinks import VECTOR_STORE
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.routes.deps import MediaPath, MediaQuery, ReadSession, RuntimeDep
from medianest.inference.service import search as service

router = APIRouter(tags=["search"])
BINARY = {"type": "string", "format": "binary"}
Limit = Annotated[int, Query(ge=1, le=100)]
FaceId = Annotated[str, Path(min_length=1, max_length=64)]
MinScore = Annotated[float | None, Query(ge=-1, le=1)]


@dataclass(frozen=True)
class Nearest:
    """A nearest-neighbour search: the vector index, how many hits, the lowest score."""

    index: VectorIndex
    limit: int
    min_score: float | None


def nearest(rt: RuntimeDep, limit: Limit = 10, min_score: MinScore = None) -> Nearest:
    """Declared after the permission check in each route: the index opens lazily."""
    return Nearest(rt.resources.get(VECTOR_STORE), limit, min_score)


NearestDep = Annotated[Nearest, Depends(nearest)]


@router.get("/search/similar-images", response_model=SimilarImages, responses=errors(404))
def similar_images(_: SearchUser, media_store_id: MediaQuery, near: NearestDep) -> SimilarImages:
    """Nearest images by embedding, the media itself excluded (404 without an embedding)."""
    return service.similar_images(near.index, media_store_id, near.limit, near.min_score)


@router.get("/search/labels", response_model=LabelSearch)
def search_labels(
    session: ReadSession,
    _: SearchUser,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Limit = 20,
) -> LabelSearch:
    """Media whose labels match any word of q, ranked by summed label probability."""
    return service.search_labels(session, q, limit)


@router.get("/faces", response_model=FaceList)
def list_faces(session: ReadSession, _: SearchUser, media_store_id: MediaQuery) -> FaceList:
    """Faces of one media item, most confident first."""
    return service.faces_of(session, media_store_id)


@router.get("/faces/{face_id}", response_model=FaceRead, responses=errors(404))
def get_face(face_id: FaceId, session: ReadSession, _: SearchUser) -> FaceRead:
    """One face: bbox in original pixels, landmarks, confidence, model."""
    return service.face_read(service.get_face(session, face_id))


@router.get("/faces/{face_id}/similar", response_model=SimilarFaces, responses=errors(404))
def similar_faces(
    _: SearchUser, face_id: FaceId, session: ReadSession, near: NearestDep
) -> SimilarFaces:
    """Nearest faces by embedding (the face itself excluded)."""
    return service.similar_faces(session, near.index, face_id, near.limit, near.min_score)


@router.get(
    "/faces/{face_id}/crop",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {"schema": BINARY}}}, **errors(404)},
)
def face_crop(
    face_id: FaceId,
    session: ReadSession,
    rt: RuntimeDep,
    _: SearchUser,
    size: Annotated[int | None, Query(ge=16, le=1024)] = None,
) -> Response:
    """JPEG of the face cut from the store's preview (with a margin; size: longest side)."""
    face = service.get_face(session, face_id)
    data = service.face_crop(rt.store, face, size)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})


@router.get("/entity/{media_store_id}/analysis", response_model=Analysis)
def analysis(media_store_id: MediaPath, session: ReadSession, _: SearchUser) -> Analysis:
    """Faces, labels and job states of one media item."""
    return service.analysis(session, media_store_id)
