"""Inference service endpoints (port 8001)."""

from __future__ import annotations

from typing import Any

from medianest.client._base import Call, clean_params, parse_as, parse_bytes, parse_none
from medianest.client.models import (
    Analysis,
    CleanupResponse,
    FaceList,
    FaceRead,
    HealthResponse,
    JobCreate,
    JobRead,
    LabelSearch,
    Page,
    PersonMediaItem,
    PersonRead,
    PersonSearch,
    RegroupStatus,
    SimilarFaces,
    SimilarImages,
    StatsResponse,
)

TASK_TYPES = ("image_embedding", "face_detection", "face_embedding")


def create_job(
    task_type: str, media_store_id: int, priority: int = 5, force: bool = False
) -> Call[JobRead]:
    """Idempotent by design: an active job for the same media and task is returned (200)."""
    body = JobCreate(media_store_id=media_store_id, priority=priority).model_dump()
    params = clean_params(force=True) if force else None
    path = f"/job/{task_type}"
    return Call(
        "POST", "inference", path, parse_as(JobRead), json=body, params=params, idempotent=not force
    )


def get_job(job_id: int | str) -> Call[JobRead]:
    return Call("GET", "inference", f"/job/{job_id}", parse_as(JobRead))


def list_jobs(page: int = 1, page_size: int = 20, **filters: Any) -> Call[Page[JobRead]]:
    params = clean_params(page=page, page_size=page_size, **filters)
    return Call("GET", "inference", "/job/", parse_as(Page[JobRead]), params=params)


def cancel_job(job_id: int | str) -> Call[None]:
    return Call("DELETE", "inference", f"/job/{job_id}", parse_none)


def retry_job(job_id: int | str) -> Call[JobRead]:
    return Call("POST", "inference", f"/job/{job_id}/retry", parse_as(JobRead))


def stats() -> Call[StatsResponse]:
    return Call("GET", "inference", "/admin/stats", parse_as(StatsResponse))


def cleanup(**params: Any) -> Call[CleanupResponse]:
    params = clean_params(**params)
    return Call("DELETE", "inference", "/admin/cleanup", parse_as(CleanupResponse), params=params)


def health() -> Call[HealthResponse]:
    return Call("GET", "inference", "/health", parse_as(HealthResponse), auth=False)


def similar_images(
    media_store_id: int, limit: int | None = None, min_score: float | None = None
) -> Call[SimilarImages]:
    params = clean_params(media_store_id=media_store_id, limit=limit, min_score=min_score)
    path = "/search/similar-images"
    return Call("GET", "inference", path, parse_as(SimilarImages), params=params)


def faces(media_store_id: int) -> Call[FaceList]:
    params = clean_params(media_store_id=media_store_id)
    return Call("GET", "inference", "/faces", parse_as(FaceList), params=params)


def get_face(face_id: str) -> Call[FaceRead]:
    return Call("GET", "inference", f"/faces/{face_id}", parse_as(FaceRead))


def similar_faces(
    face_id: str, limit: int | None = None, min_score: float | None = None
) -> Call[SimilarFaces]:
    params = clean_params(limit=limit, min_score=min_score)
    path = f"/faces/{face_id}/similar"
    return Call("GET", "inference", path, parse_as(SimilarFaces), params=params)


def face_crop(face_id: str, size: int | None = None) -> Call[bytes]:
    params = clean_params(size=size)
    return Call("GET", "inference", f"/faces/{face_id}/crop", parse_bytes, params=params)


def search_labels(q: str, limit: int | None = None) -> Call[LabelSearch]:
    params = clean_params(q=q, limit=limit)
    return Call("GET", "inference", "/search/labels", parse_as(LabelSearch), params=params)


def analysis(media_store_id: int) -> Call[Analysis]:
    path = f"/entity/{media_store_id}/analysis"
    return Call("GET", "inference", path, parse_as(Analysis))


def events(job_id: int | str | None = None, media_store_id: int | None = None) -> Call[None]:
    params = clean_params(job_id=job_id, media_store_id=media_store_id)
    return Call("GET", "inference", "/events", parse_none, params=params)


# -- people ------------------------------------------------------------------------------------


def list_people(
    page: int = 1,
    page_size: int = 20,
    named: bool | None = None,
    hidden: bool | None = None,
    order: str | None = None,
) -> Call[Page[PersonRead]]:
    params = clean_params(page=page, page_size=page_size, named=named, hidden=hidden, order=order)
    return Call("GET", "inference", "/people", parse_as(Page[PersonRead]), params=params)


def get_person(person_id: int) -> Call[PersonRead]:
    return Call("GET", "inference", f"/people/{person_id}", parse_as(PersonRead))


def update_person(person_id: int, **fields: Any) -> Call[PersonRead]:
    """Only the fields given are sent (``name=None`` makes the person unnamed)."""
    path = f"/people/{person_id}"
    return Call("PATCH", "inference", path, parse_as(PersonRead), json=fields, idempotent=True)


def delete_person(person_id: int) -> Call[None]:
    return Call("DELETE", "inference", f"/people/{person_id}", parse_none)


def person_faces(person_id: int, page: int = 1, page_size: int = 20) -> Call[Page[FaceRead]]:
    params = clean_params(page=page, page_size=page_size)
    path = f"/people/{person_id}/faces"
    return Call("GET", "inference", path, parse_as(Page[FaceRead]), params=params)


def person_media(person_id: int, page: int = 1, page_size: int = 20) -> Call[Page[PersonMediaItem]]:
    params = clean_params(page=page, page_size=page_size)
    path = f"/people/{person_id}/media"
    return Call("GET", "inference", path, parse_as(Page[PersonMediaItem]), params=params)


def merge_people(person_id: int, person_ids: list[int]) -> Call[PersonRead]:
    body = {"person_ids": list(person_ids)}
    path = f"/people/{person_id}/merge"
    return Call("POST", "inference", path, parse_as(PersonRead), json=body)


def set_face_person(face_id: str, person_id: int | None) -> Call[FaceRead]:
    path = f"/faces/{face_id}/person"
    body = {"person_id": person_id}
    return Call("PUT", "inference", path, parse_as(FaceRead), json=body, idempotent=True)


def delete_face(face_id: str) -> Call[None]:
    return Call("DELETE", "inference", f"/faces/{face_id}", parse_none)


def search_people(q: str, limit: int | None = None) -> Call[PersonSearch]:
    params = clean_params(q=q, limit=limit)
    return Call("GET", "inference", "/search/people", parse_as(PersonSearch), params=params)


def regroup_people() -> Call[RegroupStatus]:
    """Start the full regroup in the background (while one runs, its status is returned)."""
    return Call("POST", "inference", "/admin/people/regroup", parse_as(RegroupStatus))


def regroup_status() -> Call[RegroupStatus]:
    return Call("GET", "inference", "/admin/people/regroup", parse_as(RegroupStatus))
