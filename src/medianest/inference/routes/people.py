"""People: faces grouped into persons; naming, hiding, merging, moving and deleting faces.

Permissions: reading is the other search routes' (``SearchUser``: ``ai_inference_support`` or
``media_store_read``); changing (name, hide, merge, move, delete) needs ``ai_inference_support``
(admins pass both); the full regroup needs an admin. Plain ``def`` endpoints: vector-store calls
block, so they run in the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from medianest.common.pagination import Page, PageParams
from medianest.common.security import Admin, InferenceUser, SearchUser
from medianest.inference.results.people_schemas import (
    FacePersonUpdate,
    MergeRequest,
    PersonMediaItem,
    PersonRead,
    PersonSearch,
    PersonUpdate,
    RegroupStatus,
)
from medianest.inference.results.schemas import FaceRead
from medianest.inference.results.sinks import VECTOR_STORE
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.routes.deps import ReadSession, RuntimeDep, WriteSession
from medianest.inference.service import people as service
from medianest.inference.service import search as search_service
from medianest.inference.service.runtime import Runtime

router = APIRouter(tags=["people"])

MAX_ID = 2**31 - 1
PersonId = Annotated[int, Path(ge=1, le=MAX_ID)]
FaceId = Annotated[str, Path(min_length=1, max_length=64)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


_STATUS = {
    401: "not authenticated",
    403: "missing permission (ai_inference_support; reading also media_store_read)",
    404: "person or face not found",
    422: "invalid parameters or body",
    503: "the database or the vector store is unavailable",
}


def responses(*codes: int, **overrides: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of the error statuses a route can answer (``{"detail": ...}``)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        text = overrides.get(f"s{code}", _STATUS[code])
        example = {"application/json": {"example": {"detail": text}}}
        out[code] = {"description": text, "content": example}
    return out


READ = (401, 403, 422, 503)
ONE = (401, 403, 404, 422, 503)


def _index(rt: Runtime) -> VectorIndex | None:
    try:
        index: VectorIndex = rt.resources.get(VECTOR_STORE)
    except KeyError:
        return None
    return index


@router.get("/people", response_model=Page[PersonRead], responses=responses(*READ))
def list_people(
    session: ReadSession,
    _: SearchUser,
    page: PageNo = 1,
    page_size: PageSize = 20,
    named: bool | None = None,
    hidden: bool | None = None,
    order: Literal["face_count", "name"] = "face_count",
) -> Page[PersonRead]:
    """Persons, most faces first (or by name); filter named / hidden."""
    params = PageParams(page=page, page_size=page_size)
    return service.list_people(session, params, named, hidden, order)


@router.get("/search/people", response_model=PersonSearch, responses=responses(*READ))
def search_people(
    session: ReadSession,
    _: SearchUser,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PersonSearch:
    """Persons whose name (or a word of it) starts with q, ignoring case and accents."""
    return service.search_people(session, q, limit)


@router.get("/people/{person_id}", response_model=PersonRead, responses=responses(*ONE))
def get_person(person_id: PersonId, session: ReadSession, _: SearchUser) -> PersonRead:
    """One person with its face and media counts."""
    return service.get_person(session, person_id)


@router.patch("/people/{person_id}", response_model=PersonRead, responses=responses(*ONE))
def update_person(
    person_id: PersonId, body: PersonUpdate, session: WriteSession, _: InferenceUser
) -> PersonRead:
    """Name (null or blank: unnamed), hide, or choose the cover face (one of its faces)."""
    return service.update_person(session, person_id, body)


@router.delete(
    "/people/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*ONE),
)
def delete_person(person_id: PersonId, session: WriteSession, _: InferenceUser) -> Response:
    """Delete a person: its faces become unassigned and are not grouped again on their own."""
    service.delete_person(session, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/people/{person_id}/faces",
    response_model=Page[FaceRead],
    responses=responses(*ONE),
)
def person_faces(
    person_id: PersonId,
    session: ReadSession,
    _: SearchUser,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> Page[FaceRead]:
    """Faces of a person."""
    return service.person_faces(session, person_id, PageParams(page=page, page_size=page_size))


@router.get(
    "/people/{person_id}/media",
    response_model=Page[PersonMediaItem],
    responses=responses(*ONE),
)
def person_media(
    person_id: PersonId,
    session: ReadSession,
    rt: RuntimeDep,
    _: SearchUser,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> Page[PersonMediaItem]:
    """Media showing the person (newest first) with capture dates from the store."""
    params = PageParams(page=page, page_size=page_size)
    return service.person_media(session, rt.store, person_id, params)


@router.post(
    "/people/{person_id}/merge",
    response_model=PersonRead,
    responses=responses(*ONE),
)
def merge_people(
    person_id: PersonId, body: MergeRequest, session: WriteSession, _: InferenceUser
) -> PersonRead:
    """Merge the persons of person_ids into this one (their faces and decisions move)."""
    return service.merge(session, person_id, body.person_ids)


@router.put(
    "/faces/{face_id}/person",
    response_model=FaceRead,
    responses=responses(*ONE),
)
def set_face_person(
    face_id: FaceId, body: FacePersonUpdate, session: WriteSession, _: InferenceUser
) -> FaceRead:
    """Move a face to a person for good, or (null) out of its person for good."""
    return search_service.face_read(service.set_face_person(session, face_id, body.person_id))


@router.delete(
    "/faces/{face_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*ONE),
)
def delete_face(
    face_id: FaceId, session: WriteSession, rt: RuntimeDep, _: InferenceUser
) -> Response:
    """A false detection: the face goes, and stays gone when its media is analysed again."""
    service.delete_face(session, _index(rt), face_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/admin/people/regroup",
    response_model=RegroupStatus,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["admin"],
    responses=responses(401, 403, 503, s403="admin only"),
)
def regroup(request: Request, rt: RuntimeDep, _: Admin) -> RegroupStatus:
    """Start grouping every face again from scratch, keeping every decision of the users
    (in the background; one at a time: while one runs, its status is returned)."""
    return service.start_regroup(rt, request.app.state.db)


@router.get(
    "/admin/people/regroup",
    response_model=RegroupStatus,
    tags=["admin"],
    responses=responses(401, 403, 503, s403="admin only"),
)
def regroup_status(request: Request, rt: RuntimeDep, _: Admin) -> RegroupStatus:
    """State of the last full regroup: running, completed (with its counts) or failed."""
    return service.regroup_status(rt, request.app.state.db)
