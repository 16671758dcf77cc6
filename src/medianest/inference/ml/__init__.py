"""ML models behind one interface: ``Model.load()`` once, ``Model.predict(batch)`` many times.

Heavy backends (torch, onnxruntime) are imported only when their module is, so import the
concrete classes from their modules (``.faces``, ``.image``, ``.onnx_image``) or resolve them by
configuration name through :mod:`.registry`.
"""

from medianest.inference.ml.base import (
    Embedding,
    InvalidImageError,
    Model,
    RGBImage,
    load_image,
)
from medianest.inference.ml.registry import (
    ImageEmbedder,
    ModelInfo,
    ModelRegistry,
    UnknownModelError,
    default_registry,
    get_model,
)

__all__ = [
    "Embedding",
    "ImageEmbedder",
    "InvalidImageError",
    "Model",
    "ModelInfo",
    "ModelRegistry",
    "RGBImage",
    "UnknownModelError",
    "default_registry",
    "get_model",
    "load_image",
]
