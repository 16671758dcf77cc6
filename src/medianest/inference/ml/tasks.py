"""The real ML task types: ``face_detection``, ``face_embedding`` and ``image_embedding``.

Imported automatically by the task registry (it replaces the placeholders of ``tasks/ml.py``).
Importing this module loads no model and imports neither torch nor OpenCV: the API process
imports it for the sinks only; a worker process loads each model once, on its first job, through
the process-wide :func:`~medianest.inference.ml.registry.default_registry`. Handlers run in
the worker's handler thread, never on an event loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

import numpy as np

from medianest.inference.config import ModelSettings
from medianest.inference.ml.base import Embedding, RGBImage
from medianest.inference.ml.inputs import MediaInput, PreviewCache, fetch_all, per_input
from medianest.inference.ml.registry import ModelRegistry, default_registry
from medianest.inference.results.sinks import FaceSink, ImageSink
from medianest.inference.tasks import TaskContext, TaskJob, TaskOutcome, TaskType, register_task

IMAGE_BATCH = 16
FACE_BATCH = 8


class MlTasks:
    """Batch handlers bound to one model configuration and one registry (one per process)."""

    def __init__(
        self, settings: ModelSettings | None = None, registry: ModelRegistry | None = None
    ) -> None:
        self.settings = settings or ModelSettings()
        self.registry = registry or default_registry()
        self.previews = PreviewCache()

    # -- models (loaded on first use, then cached by the registry) ---------------------------

    def detector(self) -> Any:
        # the minimum size is applied in ORIGINAL pixels below, not in preview pixels
        options = {"min_score": self.settings.face_min_score, "min_face_size": 1}
        return self.registry.get("face_detector", options)

    def face_embedder(self) -> Any:
        return self.registry.get("face_embedder")

    def labeler(self) -> Any:
        backend = self.settings.image_embedder
        options = {"image_labeler": backend if backend != "onnx" else "efficientnet-lite0",
                   **self._efficientnet_options()}  # fmt: skip
        return self.registry.get("image_labeler", options)

    def image_embedder(self) -> Any:
        if self.settings.image_embedder != "onnx":
            # same options as the labeler: the registry hands out the SAME instance, so one
            # forward pass yields both the embedding and the labels
            options = {"image_embedder": self.settings.image_embedder,
                       **self._efficientnet_options()}  # fmt: skip
            return self.registry.get("image_embedder", options)
        s = self.settings
        return self.registry.get("image_embedder", {
            "image_embedder": "onnx", "path": s.image_embedder_path,
            "name": s.image_embedder_name or "onnx-image", "version": s.image_embedder_version,
            "input_size": s.image_embedder_input_size, "num_threads": s.torch_threads,
        })  # fmt: skip

    def _efficientnet_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "top_k": self.settings.labels_top_k,
            "num_threads": self.settings.torch_threads,
        }
        if self.settings.image_embedder != "efficientnet-lite0-torch":
            options["cache_dir"] = self.settings.model_dir
        return options

    # -- handlers -------------------------------------------------------------------------

    def face_detection(self, jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
        return per_input(
            fetch_all(jobs, ctx, self.previews), lambda item: self._faces(item, embed=False)
        )

    def face_embedding(self, jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
        return per_input(
            fetch_all(jobs, ctx, self.previews), lambda item: self._faces(item, embed=True)
        )

    def image_embedding(self, jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
        inputs = fetch_all(jobs, ctx, self.previews)
        good = [item for item in inputs if isinstance(item, MediaInput)]
        try:
            analysed = iter(self._analyse_images([item.image for item in good]))
        except Exception as exc:  # the batch failed as a whole: every job gets the error
            return [item if isinstance(item, BaseException) else exc for item in inputs]
        return per_input(inputs, lambda item: {**item.describe(), **next(analysed)})

    def _faces(self, item: MediaInput, *, embed: bool) -> dict[str, Any]:
        detector = self.detector()
        found = detector.detect(item.image)
        sx, sy = item.scale
        bounds = (item.width, item.height)
        kept = [(face, scale_face(face.to_dict(), sx, sy, bounds)) for face in found]
        min_size = self.settings.face_min_size
        kept = [(f, d) for f, d in kept if min(d["bbox"]["width"], d["bbox"]["height"]) >= min_size]
        result: dict[str, Any] = {
            **item.describe(),
            "detector": {"model": detector.name, "model_version": detector.version,
                         "min_score": self.settings.face_min_score, "min_size": min_size},
            "faces": [d for _, d in kept],
        }  # fmt: skip
        if embed:
            embedder = self.face_embedder()
            vectors: list[Embedding] = embedder.embed(item.image, [f for f, _ in kept])
            for (_, data), vector in zip(kept, vectors, strict=True):
                data["embedding"] = vector.astype(float).tolist()
            result.update(model=embedder.name, model_version=embedder.version, dim=embedder.dim)
        return result

    def _analyse_images(self, images: list[RGBImage]) -> list[dict[str, Any]]:
        """ONE forward pass for the whole batch (two with a separate ONNX embedder)."""
        if not images:
            return []
        labeler = self.labeler()
        embedder = self.image_embedder()
        analyses = labeler.predict(images)
        vectors = [a.embedding for a in analyses] if embedder is labeler else embedder.embed(images)
        floor = self.settings.label_min_probability
        return [
            {
                "embedding": np.asarray(vector, dtype=np.float32).astype(float).tolist(),
                "model": embedder.name, "model_version": embedder.version,
                "dim": len(vector),
                "labels": [{"label": lb.label, "probability": round(float(lb.probability), 6)}
                           for lb in analysis.labels if lb.probability >= floor],
                "label_model": labeler.name,
            }
            for vector, analysis in zip(vectors, analyses, strict=True)
        ]  # fmt: skip


def scale_face(
    face: dict[str, Any], sx: float, sy: float, bounds: tuple[int, int] | None = None
) -> dict[str, Any]:
    """A face found on the preview, in pixels of the original (``sx``/``sy``: original/preview),
    its box kept within ``bounds`` (the original's width and height)."""
    if sx == 1.0 and sy == 1.0:
        return face
    box = face["bbox"]
    width, height = bounds or (math.inf, math.inf)
    x0, y0 = int(box["x"] * sx), int(box["y"] * sy)
    x1 = int(min(width, math.ceil((box["x"] + box["width"]) * sx)))
    y1 = int(min(height, math.ceil((box["y"] + box["height"]) * sy)))
    return {
        "bbox": {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0},
        "landmarks": [[round(px * sx, 2), round(py * sy, 2)] for px, py in face["landmarks"]],
        "confidence": face["confidence"],
    }


@cache
def default_tasks() -> MlTasks:
    """The handlers of this process, configured from the environment (``INFERENCE_*``)."""
    return MlTasks()


def _face_detection(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    return default_tasks().face_detection(jobs, ctx)


def _face_embedding(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    return default_tasks().face_embedding(jobs, ctx)


def _image_embedding(jobs: Sequence[TaskJob], ctx: TaskContext) -> list[TaskOutcome]:
    return default_tasks().image_embedding(jobs, ctx)


def register() -> None:
    from medianest.inference.results.vectors import open_vector_index
    from medianest.inference.tasks import register_resource

    register_resource("vector_store", open_vector_index)
    specs = [
        ("face_detection", _face_detection, FaceSink(embeddings=False), FACE_BATCH,
         "YuNet faces: bbox (original pixels), 5 landmarks, confidence"),
        ("face_embedding", _face_embedding, FaceSink(embeddings=True), FACE_BATCH,
         "YuNet faces, then one SFace 128-d vector per face"),
        ("image_embedding", _image_embedding, ImageSink(), IMAGE_BATCH,
         "Image embedding (EfficientNet-Lite0 by default) and ImageNet labels"),
    ]  # fmt: skip
    for name, handler, sink, batch, description in specs:
        task = TaskType(name=name, handler=handler, sink=cast(Any, sink), description=description,
                        max_batch=batch)  # fmt: skip
        register_task(task, replace=True)


register()
