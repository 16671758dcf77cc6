"""Bodies of the people endpoints (persons, faces assigned to them, regrouping)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_NAME = 200


class PersonRead(BaseModel):
    id: int
    name: str | None
    face_count: int
    media_count: int
    cover_face_id: str | None
    hidden: bool
    created_at: int
    updated_at: int


class PersonUpdate(BaseModel):
    """Only the fields sent change; ``name`` null or blank makes the person unnamed again."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=MAX_NAME)
    hidden: bool | None = None
    cover_face_id: str | None = Field(None, min_length=1, max_length=64)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: list[int] = Field(min_length=1, max_length=100)


class FacePersonUpdate(BaseModel):
    """``{"person_id": N}`` moves the face to person N (for good), ``null`` removes it from its
    person (it never goes back to that person)."""

    model_config = ConfigDict(extra="forbid")

    person_id: int | None = Field(ge=1)


class PersonMediaItem(BaseModel):
    media_store_id: int
    capture_date: int | None
    """Epoch ms of the store's ``create_date``; null when the store does not know or is down."""
    face_ids: list[str]


class PersonSearch(BaseModel):
    query: str
    items: list[PersonRead]


class RegroupResponse(BaseModel):
    grouped: int
    assigned: int
    persons_created: int
    remaining: int


class RegroupStatus(BaseModel):
    """The full regroup runs in the background; ``state``: idle, running, completed, failed."""

    state: str
    started_at: int | None = None
    finished_at: int | None = None
    report: RegroupResponse | None = None
    error: str | None = None
