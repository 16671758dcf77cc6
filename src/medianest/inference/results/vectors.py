"""The vector store as an API resource: collections of the active models, plus maintenance.

Opened lazily in the API process (``register_resource("vector_store", open_vector_index)``).
Vector writes are not part of the database transaction, so every write here is an idempotent
upsert or delete by deterministic id / media. ``optimize()`` (index building, which blocks for
tens of seconds per 100k vectors on the embedded engine) runs in a background thread once enough
new vectors accumulated, at most once per ``vector_optimize_interval_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from medianest.inference.config import ModelSettings, Settings
from medianest.inference.results.identity import (
    FACE_COLLECTION,
    IMAGE_COLLECTION,
    ModelIdentity,
    face_model,
    image_model,
)
from medianest.inference.vectors import (
    Hit,
    VectorPoint,
    VectorStore,
    create_vector_store,
    make_point_id,
)

log = logging.getLogger("medianest.inference.vectors")


def image_point_id(media_store_id: int) -> str:
    return make_point_id("image", str(media_store_id))


class VectorIndex:
    """Image and face vectors of the active models, with background ``optimize`` scheduling."""

    def __init__(
        self,
        store: VectorStore,
        image: ModelIdentity,
        face: ModelIdentity,
        optimize_after: int = 5000,
        optimize_interval_s: float = 600.0,
    ) -> None:
        self.store = store
        self.image, self.face = image, face
        for collection, model in ((IMAGE_COLLECTION, image), (FACE_COLLECTION, face)):
            store.ensure_collection(collection, model.dim, model.name, model.version)
        self._optimize_after = optimize_after
        self._optimize_interval_s = optimize_interval_s
        self._lock = threading.Lock()
        self._pending = 0
        self._last_optimize = time.monotonic()
        self._optimizer: threading.Thread | None = None
        self.optimize_runs = 0

    # -- writes ---------------------------------------------------------------------------

    def put_image(self, media_store_id: int, vector: Sequence[float]) -> None:
        payload = {"media_store_id": str(media_store_id)}
        point = VectorPoint(image_point_id(media_store_id), vector, payload)
        self.store.upsert(IMAGE_COLLECTION, [point])
        self._added(1)

    def replace_faces(
        self, media_store_id: int, faces: Sequence[tuple[str, Sequence[float]]]
    ) -> None:
        """Drop every face vector of the media, then upsert ``(face_id, vector)`` pairs."""
        self.store.delete_by_media(FACE_COLLECTION, str(media_store_id))
        points = [
            VectorPoint(
                face_id, vector, {"media_store_id": str(media_store_id), "face_id": face_id}
            )
            for face_id, vector in faces
        ]
        self.store.upsert(FACE_COLLECTION, points)
        self._added(len(points))

    def delete_faces(self, face_ids: Sequence[str]) -> None:
        self.store.delete_points(FACE_COLLECTION, list(face_ids))

    def delete_media(self, media_store_id: int) -> None:
        for collection in (IMAGE_COLLECTION, FACE_COLLECTION):
            self.store.delete_by_media(collection, str(media_store_id))

    # -- reads ----------------------------------------------------------------------------

    def image_vector(self, media_store_id: int) -> npt.NDArray[np.float32] | None:
        return self.store.get_vector(IMAGE_COLLECTION, image_point_id(media_store_id))

    def face_vector(self, face_id: str) -> npt.NDArray[np.float32] | None:
        return self.store.get_vector(FACE_COLLECTION, face_id)

    def face_vectors(self, face_ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        return self.store.get_vectors(FACE_COLLECTION, face_ids)

    def similar_images(
        self, vector: Any, limit: int, min_score: float | None, exclude_media: int
    ) -> list[Hit]:
        return self.store.search(
            IMAGE_COLLECTION, vector, limit, min_score, exclude_media_store_id=str(exclude_media)
        )

    def similar_faces(self, vector: Any, limit: int, min_score: float | None) -> list[Hit]:
        return self.store.search(FACE_COLLECTION, vector, limit, min_score)

    # -- maintenance ----------------------------------------------------------------------

    def _added(self, count: int) -> None:
        with self._lock:
            self._pending += count
            due = (
                self._pending >= self._optimize_after
                and time.monotonic() - self._last_optimize >= self._optimize_interval_s
                and not (self._optimizer and self._optimizer.is_alive())
            )
            if not due:
                return
            self._pending = 0
            self._last_optimize = time.monotonic()
            self._optimizer = threading.Thread(
                target=self._optimize, name="vector-optimize", daemon=True
            )
            self._optimizer.start()

    def _optimize(self) -> None:
        started = time.monotonic()
        try:
            self.store.optimize()
            self.optimize_runs += 1
            log.info("vector store optimised", extra={"seconds": time.monotonic() - started})
        except Exception as exc:  # maintenance must never take the API down
            log.warning("vector store optimise failed", extra={"error": repr(exc)})

    def wait_maintenance(self, timeout: float | None = None) -> None:
        optimizer = self._optimizer
        if optimizer is not None:
            optimizer.join(timeout)

    def close(self) -> None:
        self.wait_maintenance()  # closing shards under a running optimise is not safe
        self.store.close()


def open_vector_index(settings: Settings) -> VectorIndex:
    """Resource factory: the store of the data dir (or the Qdrant server) for the active models."""
    store = create_vector_store(settings.data_dir(), settings.qdrant_url, settings.qdrant_api_key)
    models = ModelSettings()
    return VectorIndex(
        store,
        image_model(models),
        face_model(),
        settings.vector_optimize_after,
        settings.vector_optimize_interval_s,
    )
