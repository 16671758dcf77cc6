"""Decode an image for real, orient it, and render the thumbnail and preview.

Decoding every pixel is the validity check: a truncated JPEG or junk behind a valid header fails
here, before anything is stored. JPEGs are decoded with libjpeg's DCT scaling (``draft``) down to
no less than the preview size, which makes a 12 MP photo ~4x cheaper with identical renditions.

Renditions: the thumbnail is WebP (256 px longest side, quality 80): about a third smaller than
JPEG at equal quality and shown by every current browser. The preview is JPEG (1440 px, quality
85), the most portable choice for a full-screen view. Neither is ever upscaled. Colours are
converted to sRGB from an embedded ICC profile, and alpha is flattened onto white.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps

from .errors import MediaDecodeError
from .exiftool import ExifTool

# 200 MP phone sensors write 16320x12240 (199.8 MP); anything larger is treated as a bomb.
MAX_PIXELS = 210_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
pillow_heif.register_heif_opener()

THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 1440
THUMBNAIL_MIME = "image/webp"
PREVIEW_MIME = "image/jpeg"
# Largest first is decided by byte size; exiftool names differ between RAW formats.
RAW_PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")
_ORIENTATION_TAG = 0x0112
_SRGB = ImageCms.createProfile("sRGB")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError)


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An oriented RGB image (possibly DCT-reduced) and the full displayed dimensions."""

    image: Image.Image
    width: int
    height: int
    orientation: int | None  # the decoded file's own EXIF orientation, if any


@dataclass(frozen=True, slots=True)
class Renditions:
    thumbnail: bytes
    preview: bytes
    thumbnail_mime: str = THUMBNAIL_MIME
    preview_mime: str = PREVIEW_MIME


def decode_image(
    source: str | os.PathLike[str] | bytes,
    *,
    fallback_orientation: int | None = None,
    min_size: int = PREVIEW_SIZE,
) -> DecodedImage:
    """Fully decode ``source`` (a path or bytes); raise ``MediaDecodeError`` if it cannot be.

    ``fallback_orientation`` applies when the image carries none of its own (a RAW's embedded
    preview inherits the RAW's orientation).
    """
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            return _decode_opened(im, fallback_orientation, min_size)
    except Image.DecompressionBombError as exc:
        raise MediaDecodeError(f"image too large (over {MAX_PIXELS} pixels)") from exc
    except MemoryError as exc:
        raise MediaDecodeError("image too large to decode") from exc
    except _DECODE_ERRORS as exc:
        raise MediaDecodeError(f"cannot decode image: {exc}") from exc


def _decode_opened(
    im: Image.Image, fallback_orientation: int | None, min_size: int
) -> DecodedImage:
    if im.width * im.height > MAX_PIXELS:
        raise MediaDecodeError(f"image too large ({im.width}x{im.height} pixels)")
    own = _orientation(im)
    orientation = own or fallback_orientation
    width, height = im.size
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if im.format == "JPEG":
        im.draft("RGB", (min_size, min_size))
    im.load()
    oriented = ImageOps.exif_transpose(im) if own else _apply_orientation(im, orientation)
    result = _to_srgb(oriented)
    # Closing the opened image frees its pixels, so never hand that same object back.
    return DecodedImage(result.copy() if result is im else result, width, height, own)


def decode_raw_preview(
    exiftool: ExifTool, path: str | os.PathLike[str], orientation: int | None
) -> DecodedImage:
    """Decode the largest JPEG a camera embedded in a RAW file (Pillow cannot demosaic RAW)."""
    previews = exiftool.binary_tags(path, RAW_PREVIEW_TAGS)
    if not previews:
        raise MediaDecodeError("RAW file has no embedded preview image")
    largest = max(previews.values(), key=len)
    return decode_image(largest, fallback_orientation=orientation)


def make_renditions(
    image: Image.Image, thumbnail_size: int = THUMBNAIL_SIZE, preview_size: int = PREVIEW_SIZE
) -> Renditions:
    """Encode the preview (JPEG) and, from it, the thumbnail (WebP)."""
    preview = fit(image, preview_size)
    thumbnail = fit(preview, thumbnail_size)
    return Renditions(
        thumbnail=_encode(thumbnail, "WEBP", quality=80, method=4),
        preview=_encode(preview, "JPEG", quality=85, progressive=True),
    )


def preview_image(image: Image.Image, preview_size: int = PREVIEW_SIZE) -> Image.Image:
    """The image at preview size (what pHash and renditions are computed from)."""
    return fit(image, preview_size)


def fit(image: Image.Image, size: int) -> Image.Image:
    if max(image.size) <= size:
        return image
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return copy


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _orientation(im: Image.Image) -> int | None:
    value = im.getexif().get(_ORIENTATION_TAG)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _apply_orientation(im: Image.Image, orientation: int | None) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation or 1)
    return im if method is None else im.transpose(method)


def _to_srgb(im: Image.Image) -> Image.Image:
    """8-bit sRGB RGB: widen 16-bit greys, flatten alpha on white, apply the ICC profile."""
    icc = im.info.get("icc_profile")
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _high_depth_to_l(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba).convert("RGB")
    if icc and im.mode in ("RGB", "CMYK"):
        converted = _icc_to_srgb(im, icc)
        if converted is not None:
            return converted
    return im if im.mode == "RGB" else im.convert("RGB")


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    pixels = np.asarray(im, dtype=np.float64)
    top = pixels.max() if pixels.size else 0.0
    scale = 255.0 / (65535.0 if top > 255 else max(top, 1.0))
    return Image.fromarray(np.clip(pixels * scale, 0, 255).astype(np.uint8), "L")


def _icc_to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken profile is not worth rejecting the photo over
