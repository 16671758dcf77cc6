"""API-side result sinks of the ML tasks: faces and labels to the database, vectors to Qdrant.

Each ``store`` validates the whole result first (a garbage result raises :class:`InvalidResult`
before anything is written), replaces the media's rows inside the job's transaction, writes the
vectors as idempotent upserts with deterministic ids, and returns the result kept on the job row:
the same JSON without the raw vectors, faces carrying their ids.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from medianest.inference.models import DetectedFace, MediaLabel
from medianest.inference.repository import results as repository
from medianest.inference.results import validate
from medianest.inference.results.identity import FACE_COLLECTION, IMAGE_COLLECTION
from medianest.inference.results.validate import FaceResult
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.service import person_grouping
from medianest.inference.tasks import InvalidResult, SinkContext
from medianest.inference.tasks.base import require_json_object
from medianest.inference.vectors import make_point_id

if TYPE_CHECKING:
    from medianest.inference.models import Job

log = logging.getLogger("medianest.inference.results")
VECTOR_STORE = "vector_store"


def vector_index(ctx: SinkContext) -> VectorIndex:
    index: VectorIndex = ctx.resources.get(VECTOR_STORE)
    return index


def face_id_for(media_store_id: int, model: str, version: str, box: dict[str, int]) -> str:
    """Stable across re-runs of the same detector on the same image: vectors keep matching."""
    coords = f"{box['x']},{box['y']},{box['width']},{box['height']}"
    return make_point_id("face", str(media_store_id), model, version, coords)


class FaceSink:
    """``face_detection`` (no vectors) and ``face_embedding`` (one vector per face)."""

    def __init__(self, *, embeddings: bool) -> None:
        self.embeddings = embeddings

    def store(self, ctx: SinkContext, job: Job, result: Any) -> dict[str, Any] | None:
        data = require_json_object(result)
        index = vector_index(ctx)
        dim = index.face.dim if self.embeddings else None
        faces = validate.faces(data, dim)
        detector = validate.field(data, "detector", "result")
        if not isinstance(detector, dict):
            raise InvalidResult("result.detector must be an object with model and model_version")
        name = validate.text(validate.field(detector, "model", "detector"), "detector.model", 64)
        version = validate.text(
            str(validate.field(detector, "model_version", "detector")), "detector.model_version", 64
        )
        if self.embeddings:
            validate.model_matches(data, index.face, "result")
        rows = self._rows(job.media_store_id, faces, name, version, index)
        allowed = person_grouping.before_faces_stored(ctx.session, job.media_store_id, rows)
        allowed_ids = {row.id for row in allowed}
        faces = [face for row, face in zip(rows, faces, strict=True) if row.id in allowed_ids]
        rows = allowed
        old_ids = {f.id for f in repository.faces_of(ctx.session, job.media_store_id)}
        repository.replace_faces(ctx.session, job.media_store_id, rows)
        self._vectors(index, job.media_store_id, rows, faces, old_ids)
        embedded = any(row.embedding_model is not None for row in rows)
        person_grouping.after_faces_stored(ctx.session, embeddings=embedded)
        kept = {k: v for k, v in data.items() if k != "faces"}
        kept["faces"] = [_face_json(row) for row in rows]
        kept["face_count"] = len(rows)
        return kept

    def _rows(
        self,
        media_store_id: int,
        faces: list[FaceResult],
        model: str,
        version: str,
        index: VectorIndex,
    ) -> list[DetectedFace]:
        rows: list[DetectedFace] = []
        seen: set[str] = set()
        for face in faces:
            face_id = face_id_for(media_store_id, model, version, face.bbox)
            if face_id in seen:  # two identical boxes: keep ids unique
                face_id = make_point_id(face_id, str(len(rows)))
            seen.add(face_id)
            rows.append(
                DetectedFace(
                    id=face_id, media_store_id=media_store_id, **face.bbox,
                    landmarks=face.landmarks, confidence=face.confidence, model=model,
                    model_version=version,
                    embedding_model=index.face.name if self.embeddings else None,
                )
            )  # fmt: skip
        return rows

    def _vectors(
        self,
        index: VectorIndex,
        media_store_id: int,
        rows: list[DetectedFace],
        faces: list[FaceResult],
        old_ids: set[str],
    ) -> None:
        if self.embeddings:
            pairs = [(row.id, f.embedding or []) for row, f in zip(rows, faces, strict=True)]
            index.replace_faces(media_store_id, pairs)
            return
        # detection alone: vectors of faces that are gone must go too; kept ids keep theirs
        gone = old_ids - {row.id for row in rows}
        if gone:
            index.delete_faces(sorted(gone))
        for row in rows:
            if row.id in old_ids and index.face_vector(row.id) is not None:
                row.embedding_model = index.face.name

    def delete(self, ctx: SinkContext, media_store_id: int) -> None:
        person_grouping.media_deleted(ctx.session, media_store_id)
        repository.delete_faces(ctx.session, media_store_id)
        person_grouping.after_media_deleted(ctx.session)
        vector_index(ctx).store.delete_by_media(FACE_COLLECTION, str(media_store_id))


class ImageSink:
    """``image_embedding``: the image vector plus its labels (replaced on every run)."""

    def store(self, ctx: SinkContext, job: Job, result: Any) -> dict[str, Any] | None:
        data = require_json_object(result)
        index = vector_index(ctx)
        validate.model_matches(data, index.image, "result")
        vector = validate.embedding(
            validate.field(data, "embedding", "result"), index.image.dim, "result.embedding"
        )
        labels = validate.labels(data)
        label_model = validate.text(
            validate.field(data, "label_model", "result"), "result.label_model", 64
        )
        rows = [
            MediaLabel(media_store_id=job.media_store_id, label=item.label,
                       probability=item.probability, model=label_model)
            for item in labels
        ]  # fmt: skip
        repository.replace_labels(ctx.session, job.media_store_id, rows)
        index.put_image(job.media_store_id, vector)
        kept = {k: v for k, v in data.items() if k != "embedding"}
        kept["dim"] = len(vector)
        return kept

    def delete(self, ctx: SinkContext, media_store_id: int) -> None:
        repository.delete_labels(ctx.session, media_store_id)
        vector_index(ctx).store.delete_by_media(IMAGE_COLLECTION, str(media_store_id))


def _face_json(row: DetectedFace) -> dict[str, Any]:
    return {
        "face_id": row.id,
        "bbox": {"x": row.x, "y": row.y, "width": row.width, "height": row.height},
        "landmarks": row.landmarks,
        "confidence": row.confidence,
    }
