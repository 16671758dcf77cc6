"""Photos for the ML task tests: real faces shipped in packages, objects, and faceless images."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import skimage.data
from matplotlib import cbook
from PIL import Image

from medianest.contracts.store import EntityRead
from medianest.inference.ml.base import RGBImage, load_image


def sample(name: str) -> RGBImage:
    return np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)


@cache
def astronaut() -> RGBImage:
    return sample("astronaut")


@cache
def grace_hopper() -> RGBImage:
    return load_image(Path(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))


@cache
def coffee() -> RGBImage:
    return sample("coffee")


@cache
def chelsea() -> RGBImage:
    return sample("chelsea")


def gradient(width: int = 640, height: int = 480) -> RGBImage:
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    planes = [np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)),
              np.full((height, width), 128.0)]  # fmt: skip
    return np.stack(planes, axis=-1).astype(np.uint8)


def noise(seed: int = 0, width: int = 500, height: int = 400) -> RGBImage:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def jpeg(image: RGBImage, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def resized(image: RGBImage, factor: float) -> RGBImage:
    pil = Image.fromarray(image)
    size = (round(pil.width * factor), round(pil.height * factor))
    return np.asarray(pil.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)


def flipped(image: RGBImage) -> RGBImage:
    return np.ascontiguousarray(image[:, ::-1])


def recompressed(image: RGBImage, quality: int = 35) -> RGBImage:
    return load_image(jpeg(image, quality))


@dataclass
class FakeMedia:
    """A media source like the worker's store client: preview bytes plus the entity."""

    previews: dict[int, bytes] = field(default_factory=dict)
    entities: dict[int, EntityRead] = field(default_factory=dict)

    def add(self, media_id: int, preview: bytes, width: int | None = None,
            height: int | None = None, media_type: str = "image") -> None:  # fmt: skip
        self.previews[media_id] = preview
        self.entities[media_id] = EntityRead(
            id=media_id, is_collection=False, type=media_type, width=width, height=height
        )

    def preview(self, media_store_id: int) -> bytes:
        return self.previews[media_store_id]

    def file(self, media_store_id: int) -> bytes:
        return self.previews[media_store_id]

    def entity(self, media_store_id: int) -> EntityRead | None:
        return self.entities.get(media_store_id)
