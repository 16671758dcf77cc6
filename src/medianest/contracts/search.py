"""Response bodies of the search and analysis endpoints."""

from __future__ import annotations

from pydantic import BaseModel


class BBoxRead(BaseModel):
    x: int
    y: int
    width: int
    height: int


class FaceRead(BaseModel):
    face_id: str
    media_store_id: int
    bbox: BBoxRead
    landmarks: list[list[float]]
    confidence: float
    model: str
    model_version: str
    has_embedding: bool
    created_at: int
    person_id: int | None = None
    assigned_by: str | None = None
    """``auto`` (grouping) or ``user``; None: unassigned."""


class LabelRead(BaseModel):
    label: str
    probability: float
    model: str


class SimilarImage(BaseModel):
    media_store_id: int
    score: float


class SimilarImages(BaseModel):
    media_store_id: int
    model: str
    items: list[SimilarImage]


class SimilarFace(BaseModel):
    face_id: str
    media_store_id: int
    score: float
    bbox: BBoxRead | None = None


class SimilarFaces(BaseModel):
    face_id: str
    model: str
    items: list[SimilarFace]


class FaceList(BaseModel):
    media_store_id: int
    items: list[FaceRead]


class PersonRef(BaseModel):
    id: int
    name: str | None


class LabelMatch(BaseModel):
    media_store_id: int
    score: float
    labels: list[LabelRead]
    people: list[PersonRef] = []


class LabelSearch(BaseModel):
    query: str
    words: list[str]
    items: list[LabelMatch]


class JobState(BaseModel):
    job_id: str
    task_type: str
    status: str
    error_message: str | None = None
    completed_at: int | None = None


class Analysis(BaseModel):
    media_store_id: int
    faces: list[FaceRead]
    labels: list[LabelRead]
    jobs: list[JobState]
    people: list[PersonRef] = []
