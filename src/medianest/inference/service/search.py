"""Search and analysis rules (no FastAPI): similar images and faces, labels, face crops."""

from __future__ import annotations

import io
import re

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from medianest.common.errors import NotFound, ServiceUnavailable, Unprocessable, found
from medianest.inference.models import DetectedFace, MediaLabel
from medianest.inference.repository import people as people_repository
from medianest.inference.repository import results as repository
from medianest.inference.results.schemas import (
    Analysis,
    BBoxRead,
    FaceList,
    FaceRead,
    JobState,
    LabelMatch,
    LabelRead,
    LabelSearch,
    PersonRef,
    SimilarFace,
    SimilarFaces,
    SimilarImage,
    SimilarImages,
)
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.store_client import MediaNotFound, StoreClient, StoreUnavailable

CROP_MARGIN = 0.25
"""Margin around a face crop, as a fraction of the box's size on each side."""
MAX_WORDS = 10
_WORD_RE = re.compile(r"[a-z0-9]+")


def face_read(row: DetectedFace) -> FaceRead:
    return FaceRead(
        face_id=row.id, media_store_id=row.media_store_id,
        bbox=BBoxRead(x=row.x, y=row.y, width=row.width, height=row.height),
        landmarks=row.landmarks, confidence=row.confidence, model=row.model,
        model_version=row.model_version, has_embedding=row.embedding_model is not None,
        created_at=row.created_at, person_id=row.person_id, assigned_by=row.assigned_by,
    )  # fmt: skip


def label_read(row: MediaLabel) -> LabelRead:
    return LabelRead(label=row.label, probability=row.probability, model=row.model)


def similar_images(
    index: VectorIndex, media_store_id: int, limit: int, min_score: float | None
) -> SimilarImages:
    vector = index.image_vector(media_store_id)
    if vector is None:
        raise NotFound(f"media {media_store_id} has no image embedding yet")
    hits = index.similar_images(vector, limit, min_score, media_store_id)
    items = [SimilarImage(media_store_id=int(h.payload["media_store_id"]), score=h.score)
             for h in hits]  # fmt: skip
    return SimilarImages(media_store_id=media_store_id, model=index.image.name, items=items)


def faces_of(session: Session, media_store_id: int) -> FaceList:
    rows = repository.faces_of(session, media_store_id)
    return FaceList(media_store_id=media_store_id, items=[face_read(r) for r in rows])


def get_face(session: Session, face_id: str) -> DetectedFace:
    return found(repository.get_face(session, face_id), "face not found")


def similar_faces(
    session: Session, index: VectorIndex, face_id: str, limit: int, min_score: float | None
) -> SimilarFaces:
    get_face(session, face_id)
    vector = index.face_vector(face_id)
    if vector is None:
        raise NotFound(f"face {face_id} has no embedding yet")
    hits = [h for h in index.similar_faces(vector, limit + 1, min_score) if h.id != face_id]
    rows = repository.faces_by_id(session, [h.id for h in hits])
    items = []
    for hit in hits[:limit]:
        row = rows.get(hit.id)
        box = BBoxRead(x=row.x, y=row.y, width=row.width, height=row.height) if row else None
        media = int(hit.payload["media_store_id"])
        items.append(SimilarFace(face_id=hit.id, media_store_id=media, score=hit.score, bbox=box))
    return SimilarFaces(face_id=face_id, model=index.face.name, items=items)


def search_words(query: str) -> list[str]:
    words = list(dict.fromkeys(_WORD_RE.findall(query.lower())))[:MAX_WORDS]
    if not words:
        raise Unprocessable("q must contain at least one word")
    return words


def word_matches(word: str, label: str) -> bool:
    """Whole words of the label, tolerant of plurals; longer words also match as prefixes
    ("coffee" finds "coffeepot", "cat" does not find "catamaran")."""
    for token in _WORD_RE.findall(label.lower()):
        if token in (word, word + "s", word + "es") or word in (token + "s", token + "es"):
            return True
        if len(word) >= 4 and token.startswith(word):
            return True
    return False


def search_labels(session: Session, query: str, limit: int) -> LabelSearch:
    words = search_words(query)
    scores: dict[int, float] = {}
    for media, label, probability in repository.label_candidates(session, words):
        if any(word_matches(w, label) for w in words):
            scores[media] = scores.get(media, 0.0) + probability
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    labels = repository.labels_for_media(session, [m for m, _ in ranked])
    people = people_repository.persons_of_media(session, [m for m, _ in ranked])
    items = [
        LabelMatch(media_store_id=m, score=round(s, 6),
                   labels=[label_read(r) for r in labels[m] if any(word_matches(w, r.label)
                                                                  for w in words)],
                   people=[PersonRef(id=p.id, name=p.name) for p in people.get(m, [])])
        for m, s in ranked
    ]  # fmt: skip
    return LabelSearch(query=query, words=words, items=items)


def analysis(session: Session, media_store_id: int) -> Analysis:
    jobs = [
        JobState(job_id=j.id, task_type=j.task_type, status=j.status,
                 error_message=j.error_message, completed_at=j.completed_at)
        for j in repository.jobs_of(session, media_store_id)
    ]  # fmt: skip
    return Analysis(
        media_store_id=media_store_id,
        faces=[face_read(r) for r in repository.faces_of(session, media_store_id)],
        labels=[label_read(r) for r in repository.labels_of(session, media_store_id)],
        jobs=jobs,
        people=[
            PersonRef(id=p.id, name=p.name)
            for p in people_repository.persons_of_media(session, [media_store_id])[media_store_id]
        ],
    )


def face_crop(store: StoreClient | None, face: DetectedFace, size: int | None = None) -> bytes:
    """JPEG of the face cut from the store's preview, the bbox scaled to the preview's size."""
    if store is None:
        raise ServiceUnavailable("no media store configured")
    try:
        entity = store.entity(face.media_store_id)
        data = store.preview(face.media_store_id)
    except MediaNotFound as exc:
        raise NotFound(str(exc)) from exc
    except StoreUnavailable as exc:
        raise ServiceUnavailable(str(exc), headers={"Retry-After": "5"}) from exc
    if entity is None:
        raise NotFound(f"media {face.media_store_id} not found in the media store")
    return crop_jpeg(data, face, entity.width, entity.height, size)


def crop_jpeg(
    preview: bytes, face: DetectedFace, width: int | None, height: int | None,
    size: int | None = None,
) -> bytes:  # fmt: skip
    try:
        with Image.open(io.BytesIO(preview)) as img:
            img.load()
            image = ImageOps.exif_transpose(img).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise Unprocessable(f"the store's preview cannot be decoded: {exc}") from exc
    sx = image.width / width if width else 1.0
    sy = image.height / height if height else 1.0
    mx, my = face.width * CROP_MARGIN, face.height * CROP_MARGIN
    box = (
        max(0, round((face.x - mx) * sx)),
        max(0, round((face.y - my) * sy)),
        min(image.width, round((face.x + face.width + mx) * sx)),
        min(image.height, round((face.y + face.height + my) * sy)),
    )
    if box[2] <= box[0] or box[3] <= box[1]:
        raise Unprocessable("the face box lies outside the preview")
    crop = image.crop(box)
    if size:
        crop.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=90)
    return out.getvalue()
