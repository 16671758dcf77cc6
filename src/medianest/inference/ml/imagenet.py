"""ImageNet-1k label names and the result type shared by the EfficientNet backends (no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import NamedTuple

from medianest.inference.ml.base import Embedding


class Label(NamedTuple):
    label: str
    probability: float


@dataclass(frozen=True)
class ImageAnalysis:
    embedding: Embedding
    labels: list[Label]


@cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, in class-index order (a data file in this package)."""
    text = (files("medianest.inference.ml") / "imagenet_labels.txt").read_text("utf-8")
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(labels) != 1000:
        raise RuntimeError(f"imagenet_labels.txt has {len(labels)} names, expected 1000")
    return labels
