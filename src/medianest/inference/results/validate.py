"""Checks of what workers post: a garbage result fails its job with a clear message.

Everything is validated before anything is written, so a refused result leaves neither rows
nor vectors behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from medianest.inference.results.identity import ModelIdentity
from medianest.inference.tasks import InvalidResult

MAX_FACES = 500
MAX_LABELS = 50
LANDMARKS = 5


@dataclass(frozen=True)
class FaceResult:
    bbox: dict[str, int]
    landmarks: list[list[float]]
    confidence: float
    embedding: list[float] | None


@dataclass(frozen=True)
class LabelResult:
    label: str
    probability: float


def field(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InvalidResult(f"{where}: missing key {key!r}")
    return data[key]


def number(value: Any, where: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidResult(f"{where} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidResult(f"{where} must be within [{low}, {high}], got {value!r}")
    return float(value)


def integer(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidResult(f"{where} must be an integer >= {low}, got {value!r}")
    return value


def text(value: Any, where: str, max_len: int = 128) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidResult(f"{where} must be a non-empty string of at most {max_len} chars")
    return value.strip()


def embedding(value: Any, dim: int, where: str) -> list[float]:
    """A finite, non-zero vector of ``dim`` numbers, returned L2-normalised."""
    if not isinstance(value, list):
        raise InvalidResult(f"{where} must be a list of {dim} numbers")
    if len(value) != dim:
        raise InvalidResult(f"{where} has {len(value)} dimensions, the model has {dim}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise InvalidResult(f"{where} must contain only numbers")
    vector = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(vector)):
        raise InvalidResult(f"{where} contains NaN or infinite values")
    norm = float(np.linalg.norm(vector))
    if norm < 1e-6:
        raise InvalidResult(f"{where} is a zero vector")
    normalized: list[float] = (vector / norm).astype(np.float32).tolist()
    return normalized


def model_matches(result: dict[str, Any], active: ModelIdentity, where: str) -> None:
    """Vectors of another model or version must never enter the active model's space."""
    name = text(field(result, "model", where), f"{where}.model", 64)
    version = str(field(result, "model_version", where))
    if (name, version) != (active.name, active.version):
        raise InvalidResult(
            f"{where}: vectors of {name} v{version} do not match the active model "
            f"{active.name} v{active.version}"
        )


def bbox(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise InvalidResult(f"{where} must be an object with x, y, width, height")
    box = {k: integer(field(value, k, where), f"{where}.{k}") for k in ("x", "y")}
    for key in ("width", "height"):
        box[key] = integer(field(value, key, where), f"{where}.{key}", low=1)
    return box


def landmarks(value: Any, where: str) -> list[list[float]]:
    if not isinstance(value, list) or len(value) != LANDMARKS:
        raise InvalidResult(f"{where} must be {LANDMARKS} [x, y] points")
    points = []
    for i, point in enumerate(value):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise InvalidResult(f"{where}[{i}] must be an [x, y] pair")
        points.append([number(point[0], f"{where}[{i}].x"), number(point[1], f"{where}[{i}].y")])
    return points


def faces(result: dict[str, Any], dim: int | None) -> list[FaceResult]:
    """The ``faces`` list; each face needs an ``embedding`` of ``dim`` numbers unless None."""
    items = field(result, "faces", "result")
    if not isinstance(items, list) or len(items) > MAX_FACES:
        raise InvalidResult(f"result.faces must be a list of at most {MAX_FACES} faces")
    parsed = []
    for i, item in enumerate(items):
        where = f"faces[{i}]"
        if not isinstance(item, dict):
            raise InvalidResult(f"{where} must be an object")
        vector = None
        if dim is not None:
            vector = embedding(field(item, "embedding", where), dim, f"{where}.embedding")
        parsed.append(
            FaceResult(
                bbox=bbox(field(item, "bbox", where), f"{where}.bbox"),
                landmarks=landmarks(field(item, "landmarks", where), f"{where}.landmarks"),
                confidence=number(field(item, "confidence", where), f"{where}.confidence", 0, 1),
                embedding=vector,
            )
        )
    return parsed


def labels(result: dict[str, Any]) -> list[LabelResult]:
    items = field(result, "labels", "result")
    if not isinstance(items, list) or len(items) > MAX_LABELS:
        raise InvalidResult(f"result.labels must be a list of at most {MAX_LABELS} labels")
    parsed = []
    for i, item in enumerate(items):
        where = f"labels[{i}]"
        if not isinstance(item, dict):
            raise InvalidResult(f"{where} must be an object with label and probability")
        parsed.append(
            LabelResult(
                label=text(field(item, "label", where), f"{where}.label"),
                probability=number(field(item, "probability", where), f"{where}.probability", 0, 1),
            )
        )
    return parsed
