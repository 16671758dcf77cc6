"""Identity (name, version, dimension) of the active models, known without loading them.

The API process never imports torch or OpenCV: it only needs to know which vector space the
active models write to. The constants match the model classes' attributes (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from medianest.inference.config import ModelSettings

IMAGE_COLLECTION = "image_embeddings"
FACE_COLLECTION = "face_embeddings"

EFFICIENTNET = ("efficientnet-lite0", "1", 1280)
YUNET = ("yunet", "2023mar-int8bq")
SFACE = ("sface", "2021dec-int8bq", 128)
ONNX_DEFAULT_NAME = "onnx-image"


@dataclass(frozen=True)
class ModelIdentity:
    name: str
    version: str
    dim: int


def image_model(settings: ModelSettings) -> ModelIdentity:
    """The configured image embedder; ONNX models must declare their dimension."""
    if settings.image_embedder == "onnx":
        if settings.image_embedder_dim is None:
            raise ValueError("INFERENCE_IMAGE_EMBEDDER_DIM is required with the onnx backend")
        name = settings.image_embedder_name or ONNX_DEFAULT_NAME
        return ModelIdentity(name, settings.image_embedder_version, settings.image_embedder_dim)
    if settings.image_embedder != EFFICIENTNET[0]:
        raise ValueError(f"unknown image embedder {settings.image_embedder!r}")
    return ModelIdentity(*EFFICIENTNET)


def face_model() -> ModelIdentity:
    return ModelIdentity(*SFACE)
