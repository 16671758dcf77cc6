"""Config name → model class, with one loaded instance per (class, options) per registry.

Loading a model costs seconds and hundreds of MB, so the worker and the API each hold ONE
:class:`ModelRegistry` (the API on ``app.state``; the worker process may use the process-wide
:func:`get_model`). Backends are named by import path and imported on first use, so a process
that only detects faces never imports torch.

Settings for one kind are a mapping (or keyword arguments): the key named like the kind selects
the backend, every other key is passed to the backend's constructor, e.g.::

    get_model("image_embedder", {"image_embedder": "onnx", "path": "/models/clip.onnx",
                                 "name": "clip-vit-b32", "version": "openai-1"})
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, cast, runtime_checkable

from medianest.inference.ml.base import Embedding, Model, RGBImage

_PKG = "medianest.inference.ml"

BACKENDS: dict[str, dict[str, str]] = {
    "face_detector": {"yunet": f"{_PKG}.faces:YuNetFaceDetector"},
    "face_embedder": {"sface": f"{_PKG}.faces:SFaceEmbedder"},
    "image_embedder": {
        # the packaged weights through ONNX Runtime (faster); torch kept as a named backend
        "efficientnet-lite0": f"{_PKG}.efficientnet_onnx:EfficientNetLite0Onnx",
        "efficientnet-lite0-torch": f"{_PKG}.image:EfficientNetLite0",
        "onnx": f"{_PKG}.onnx_image:OnnxImageEmbedder",
    },
    # Labels always come from the ImageNet classifier, even when a CLIP model embeds images.
    "image_labeler": {
        "efficientnet-lite0": f"{_PKG}.efficientnet_onnx:EfficientNetLite0Onnx",
        "efficientnet-lite0-torch": f"{_PKG}.image:EfficientNetLite0",
    },
}
DEFAULT_BACKENDS: dict[str, str] = {
    "face_detector": "yunet",
    "face_embedder": "sface",
    "image_embedder": "efficientnet-lite0",
    "image_labeler": "efficientnet-lite0",
}


class UnknownModelError(ValueError):
    """A kind or backend name that no class is registered for (a configuration mistake)."""


@runtime_checkable
class ImageEmbedder(Protocol):
    """What search needs from any image embedder, whichever backend is configured."""

    name: str
    version: str
    dim: int | None

    def load(self) -> None: ...

    def embed(self, batch: list[RGBImage]) -> list[Embedding]: ...


@dataclass(frozen=True)
class ModelInfo:
    kind: str
    backend: str
    name: str
    version: str
    dim: int | None


def register_backend(kind: str, backend: str, target: str) -> None:
    """Add a backend ("package.module:Class") so configuration can name it."""
    BACKENDS.setdefault(kind, {})[backend] = target


class ModelRegistry:
    """Creates, loads and caches models; thread safe so executor threads can share it."""

    def __init__(self) -> None:
        self._instances: dict[tuple[str, tuple[tuple[str, str], ...]], Model[Any, Any]] = {}
        self._resolved: dict[str, ModelInfo] = {}
        self._lock = threading.Lock()

    def get(
        self, kind: str, settings: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Model[Any, Any]:
        """The loaded model for ``kind`` with these settings (same settings → same instance)."""
        options = {**(settings or {}), **kwargs}
        backend = str(options.pop(kind, None) or options.pop("backend", None) or _default(kind))
        options = {k: v for k, v in options.items() if v is not None}
        target = _target(kind, backend)
        key = (target, tuple(sorted((k, repr(v)) for k, v in options.items())))
        with self._lock:
            model = self._instances.get(key)
            if model is None:
                model = _import(target)(**options)
                self._instances[key] = model
        model.load()
        self._record(kind, backend, model)
        return model

    def image_embedder(self, settings: Mapping[str, Any] | None = None) -> ImageEmbedder:
        return cast(ImageEmbedder, self.get("image_embedder", settings))

    def dimension(self, kind: str) -> int | None:
        """Output size of the model last resolved for ``kind`` (sizes its vector collection)."""
        info = self._resolved.get(kind)
        return info.dim if info else None

    def info(self) -> dict[str, ModelInfo]:
        """What each kind currently resolves to: for health endpoints and payload stamping."""
        return dict(self._resolved)

    def _record(self, kind: str, backend: str, model: Model[Any, Any]) -> None:
        self._resolved[kind] = ModelInfo(kind, backend, model.name, model.version, model.dim)


def _default(kind: str) -> str:
    if kind not in DEFAULT_BACKENDS:
        raise UnknownModelError(f"unknown model kind {kind!r}; known: {sorted(BACKENDS)}")
    return DEFAULT_BACKENDS[kind]


def _target(kind: str, backend: str) -> str:
    choices = BACKENDS.get(kind, {})
    if backend not in choices:
        raise UnknownModelError(
            f"unknown backend {backend!r} for {kind!r}; known: {sorted(choices)}"
        )
    return choices[backend]


def _import(target: str) -> type[Model[Any, Any]]:
    module_name, _, class_name = target.partition(":")
    return cast(type[Model[Any, Any]], getattr(importlib.import_module(module_name), class_name))


@cache
def default_registry() -> ModelRegistry:
    """The process-wide registry: a worker process loads each model once and reuses it."""
    return ModelRegistry()


def get_model(
    kind: str, settings: Mapping[str, Any] | None = None, **kwargs: Any
) -> Model[Any, Any]:
    """Shortcut to ``default_registry().get(...)``; see the module docstring for settings."""
    return default_registry().get(kind, settings, **kwargs)
