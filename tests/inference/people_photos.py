"""The people test set: the face photos that installed packages ship, under realistic edits,
plus photos with no face. Used by the end-to-end grouping test and by ``bench/people.py``.

Persons: scikit-image's astronaut (Eileen Collins, NASA, public domain) and camera (CC0, by
Lav Varshney), matplotlib's Grace Hopper (US Navy, public domain).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance

from medianest.inference.ml.base import RGBImage
from tests.inference import photos


def camera() -> RGBImage:
    gray = photos.sample("camera")
    return np.ascontiguousarray(np.stack([gray] * 3, axis=-1))


PEOPLE: dict[str, Callable[[], RGBImage]] = {
    "astronaut": photos.astronaut,
    "grace": photos.grace_hopper,
    "camera": camera,
}
FACELESS: dict[str, Callable[[], RGBImage]] = {
    "coffee": photos.coffee,
    "chelsea": photos.chelsea,
    "gradient": photos.gradient,
}


def _pil(image: RGBImage) -> Image.Image:
    return Image.fromarray(image)


def _crop(image: RGBImage) -> RGBImage:
    pil = _pil(image)
    w, h = pil.size
    return np.asarray(pil.crop((int(w * 0.08), int(h * 0.05), int(w * 0.95), int(h * 0.93))))


def _rotate(angle: float) -> Callable[[RGBImage], RGBImage]:
    def edit(image: RGBImage) -> RGBImage:
        turned = _pil(image).rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        return np.asarray(turned)

    return edit


def _brightness(factor: float) -> Callable[[RGBImage], RGBImage]:
    return lambda image: np.asarray(ImageEnhance.Brightness(_pil(image)).enhance(factor))


EDITS: dict[str, Callable[[RGBImage], RGBImage]] = {
    "original": lambda image: image,
    "crop": _crop,
    "half-size": lambda image: photos.resized(image, 0.5),
    "larger": lambda image: photos.resized(image, 1.5),
    "rotated-15": _rotate(-15),
    "rotated-8": _rotate(-8),
    "rotated+8": _rotate(8),
    "rotated+15": _rotate(15),
    "brighter": _brightness(1.4),
    "darker": _brightness(0.6),
    "jpeg-20": lambda image: photos.recompressed(image, 20),
    "mirrored": photos.flipped,
}


@dataclass(frozen=True)
class Photo:
    media_id: int
    person: str | None
    """Who the photo shows (None: no face)."""
    edit: str
    jpeg: bytes
    width: int
    height: int


@cache
def photo_set() -> tuple[Photo, ...]:
    out: list[Photo] = []
    media_id = 1
    for person, load in PEOPLE.items():
        for edit, apply in EDITS.items():
            image = np.ascontiguousarray(apply(load()), dtype=np.uint8)
            out.append(_photo(media_id, person, edit, image))
            media_id += 1
    for name, load in FACELESS.items():
        out.append(_photo(media_id, None, name, load()))
        media_id += 1
    return tuple(out)


def _photo(media_id: int, person: str | None, edit: str, image: RGBImage) -> Photo:
    data = photos.jpeg(image, 92)
    with Image.open(io.BytesIO(data)) as img:
        return Photo(media_id, person, edit, data, img.width, img.height)


@cache
def face_results() -> dict[int, dict[str, Any]]:
    """The face_embedding task's results per media id (the real models run once)."""
    from medianest.inference.config import ModelSettings
    from medianest.inference.ml.registry import ModelRegistry
    from medianest.inference.ml.tasks import MlTasks
    from medianest.inference.tasks import TaskContext, TaskJob

    media = photos.FakeMedia()
    for photo in photo_set():
        media.add(photo.media_id, photo.jpeg, photo.width, photo.height)
    tasks = MlTasks(ModelSettings(), ModelRegistry())
    jobs = [TaskJob(f"j{p.media_id}", "face_embedding", p.media_id) for p in photo_set()]
    outcomes = tasks.face_embedding(jobs, TaskContext(media))
    results: dict[int, dict[str, Any]] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        assert isinstance(outcome, dict), outcome
        results[job.media_store_id] = outcome
    return results


def labelled_vectors() -> tuple[list[str], np.ndarray]:
    """(person of each face, its embedding) over the whole set; a face in a photo of nobody
    (a false detection) gets a label of its own so it must never join a person."""
    labels, vectors = [], []
    for photo in photo_set():
        for i, face in enumerate(face_results()[photo.media_id]["faces"]):
            labels.append(photo.person or f"nobody-{photo.media_id}-{i}")
            vectors.append(face["embedding"])
    return labels, np.asarray(vectors, dtype=np.float32)


def pairwise_precision_recall(labels: list[str], groups: list[int | None]) -> tuple[float, float]:
    """Pairs of faces put in one person that show one person (precision), and pairs showing
    one person that were put in one person (recall). Unassigned faces pair with nobody."""
    same_true = same_pred = both = 0
    n = len(labels)
    for i in range(n):
        for j in range(i + 1, n):
            truth = labels[i] == labels[j]
            pred = groups[i] is not None and groups[i] == groups[j]
            same_true += truth
            same_pred += pred
            both += truth and pred
    precision = both / same_pred if same_pred else 1.0
    recall = both / same_true if same_true else 1.0
    return precision, recall
