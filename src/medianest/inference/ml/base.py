"""The one interface every ML model implements, plus image decoding and preprocessing helpers.

Models are created once per process (see :mod:`.registry`), loaded lazily and exactly once, and
called with *batches* so the worker can amortise per-call overhead. All inputs are RGB
``uint8`` arrays of shape (H, W, 3) that are already EXIF-oriented: coordinates a model returns
are therefore in the orientation a person sees, which is what the UI draws on.
"""

from __future__ import annotations

import io
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Generic, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from medianest.common.errors import Unprocessable

RGBImage: TypeAlias = npt.NDArray[np.uint8]
"""An RGB image, shape (H, W, 3), dtype uint8, EXIF orientation applied."""

Embedding: TypeAlias = npt.NDArray[np.float32]
"""A 1-d, L2-normalised float32 vector (cosine similarity == dot product)."""

ImageSource: TypeAlias = bytes | str | Path

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


class InvalidImageError(Unprocessable):
    """The data is not an image Pillow can decode; a client error (422), never a 500."""


class Model(ABC, Generic[InputT, OutputT]):
    """Base for every model: identity (``name``/``version``/``dim``), one-time load, batch predict.

    ``version`` is part of the vector space's identity: bump it whenever weights or preprocessing
    change, so stored vectors of the old version are never compared with new ones.
    """

    name: str = ""
    version: str = ""
    dim: int | None = None
    """Output dimension for embedders, None for models that do not embed."""

    def __init__(self) -> None:
        self._load_lock = threading.Lock()
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load weights once; later calls (from any thread) return immediately."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @abstractmethod
    def _load(self) -> None:
        """Read weights and build sessions; called at most once per instance."""

    @abstractmethod
    def predict(self, batch: Sequence[InputT]) -> list[OutputT]:
        """Run the model on a batch; returns one output per input, in order."""


def load_image(source: ImageSource) -> RGBImage:
    """Decode bytes or a file into an EXIF-oriented RGB array.

    Raises :class:`InvalidImageError` for data that is not a decodable image, so callers can
    answer 422 instead of failing a job with an opaque Pillow error.
    """
    stream: io.BytesIO | str | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream) as img:
            img.load()
            oriented = ImageOps.exif_transpose(img)
            return np.asarray(_to_rgb(oriented), dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"cannot decode image: {exc}") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise
        raise InvalidImageError(f"cannot decode image: {exc}") from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white: black transparent pixels would skew embeddings."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def resize_center_crop(image: RGBImage, shorter: int, crop: int) -> RGBImage:
    """Scale so the shorter side is ``shorter`` px, then take the centred ``crop`` square."""
    pil = Image.fromarray(image)
    width, height = pil.size
    scale = shorter / min(width, height)
    size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    pil = pil.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - crop) // 2, (size[1] - crop) // 2
    return np.asarray(pil.crop((left, top, left + crop, top + crop)), dtype=np.uint8)


def to_normalized_chw(
    image: RGBImage, mean: Sequence[float], std: Sequence[float]
) -> npt.NDArray[np.float32]:
    """HWC uint8 → CHW float32 scaled to [0, 1] then standardised per channel."""
    scaled = image.astype(np.float32) / 255.0
    normed = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(normed.transpose(2, 0, 1), dtype=np.float32)


def l2_normalize(rows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Row-wise L2 normalisation; zero rows stay zero instead of becoming NaN."""
    matrix = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalized: npt.NDArray[np.float32] = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalized
