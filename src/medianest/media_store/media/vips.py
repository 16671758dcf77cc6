"""Renditions with libvips: one shrink-on-load decode feeds the preview, thumbnail and pHash.

``pyvips.Image.thumbnail`` decodes a JPEG with libjpeg's DCT scaling (and a HEIC through its
embedded thumbnail when that is large enough), orients it from EXIF, converts an embedded ICC
profile to sRGB and never upscales (``size="down"``). ``fail_on="error"`` makes a truncated or
corrupt file fail here instead of rendering grey. The binary wheel has no HEVC decoder, so HEIC
goes through pillow-heif (the Pillow path below). The preview (JPEG 1440 px, q85, progressive)
is encoded from that decode; the thumbnail (WebP 256 px, q80) is reduced from the preview in
memory; the pHash is computed from the thumbnail (it shrinks to 32x32 anyway: the same 64 bits
as from the preview on every photo measured, see tests/media_store/test_vips_renditions.py).

Whatever libvips cannot read (or reads but cannot render) goes through the Pillow path in
``renditions`` (the one before libvips), so no format that worked before stops working.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvips
from PIL import Image

from . import renditions
from .errors import MediaDecodeError
from .phash import phash

_ROTATE = {3: "d180", 6: "d90", 8: "d270"}

# libvips keeps recent operations in a cache, and with them their source files open: a deleted
# original kept its disk space until the cache let it go (found by tests/faults/test_disk_full.py).
# Renditions never repeat an operation, so the cache is off for the whole process.
pyvips.cache_set_max(0)
pyvips.cache_set_max_files(0)


@dataclass(frozen=True, slots=True)
class Rendered:
    """What one decode gives: displayed full size, own orientation, renditions, pHash."""

    width: int
    height: int
    orientation: int | None
    thumbnail: bytes
    preview: bytes
    phash: str
    thumbnail_mime: str = renditions.THUMBNAIL_MIME
    preview_mime: str = renditions.PREVIEW_MIME


def render(
    source: str | os.PathLike[str] | bytes,
    *,
    fallback_orientation: int | None = None,
    thumbnail_size: int = renditions.THUMBNAIL_SIZE,
    preview_size: int = renditions.PREVIEW_SIZE,
) -> Rendered:
    """Decode ``source`` once and render it; raise ``MediaDecodeError`` if it cannot be."""
    try:
        header = _open(source)
    except pyvips.Error:
        return _with_pillow(source, fallback_orientation, thumbnail_size, preview_size)
    if header.width * header.height > renditions.MAX_PIXELS:
        raise MediaDecodeError(f"image too large ({header.width}x{header.height} pixels)")
    own = _own_orientation(header)
    try:
        preview = _preview(source, preview_size, own, fallback_orientation)
    except pyvips.Error:
        # A damaged file, or a variant libvips reads but cannot render: Pillow decides.
        return _with_pillow(source, fallback_orientation, thumbnail_size, preview_size)
    orientation = own or fallback_orientation
    width, height = header.width, header.height
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    thumb = preview.thumbnail_image(thumbnail_size, height=thumbnail_size, size="down")
    thumb = thumb.copy_memory()
    return Rendered(
        width=width,
        height=height,
        orientation=own,
        thumbnail=thumb.webpsave_buffer(Q=80, effort=4, keep="none"),
        preview=preview.jpegsave_buffer(Q=85, interlace=True, keep="none"),
        phash=phash(to_pil(thumb)),
    )


def to_pil(image: pyvips.Image) -> Image.Image:
    """An 8-bit sRGB vips image as a Pillow RGB image (one copy of the pixels)."""
    data = image.write_to_memory()
    array = np.ndarray(buffer=data, dtype=np.uint8, shape=(image.height, image.width, image.bands))
    return Image.fromarray(array, "RGB")


def _open(source: str | os.PathLike[str] | bytes) -> pyvips.Image:
    """The header only (libvips reads pixels lazily)."""
    if isinstance(source, bytes):
        return pyvips.Image.new_from_buffer(source, "")
    return pyvips.Image.new_from_file(os.fspath(source))


def _preview(
    source: str | os.PathLike[str] | bytes,
    size: int,
    own: int | None,
    fallback: int | None,
) -> pyvips.Image:
    options: dict[str, Any] = {"height": size, "size": "down"}
    if isinstance(source, bytes):
        # thumbnail_buffer ignores a ``fail_on`` keyword; the loader option string reaches it
        options["option_string"] = "fail_on=error"
        image = pyvips.Image.thumbnail_buffer(source, size, **options)
    else:
        image = pyvips.Image.thumbnail(os.fspath(source), size, fail_on="error", **options)
    if not own and fallback and fallback != 1:
        image = _orient(image, fallback)
    return _to_srgb8(image).copy_memory()


def _own_orientation(image: pyvips.Image) -> int | None:
    if image.get_typeof("orientation") == 0:
        return None
    value = image.get("orientation")
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _orient(image: pyvips.Image, orientation: int) -> pyvips.Image:
    """Apply an EXIF orientation the decoded image does not carry itself (RAW previews)."""
    if orientation in (2, 4, 5, 7):
        image = image.fliphor()
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]  # mirror, then rotate
    angle = _ROTATE.get(orientation)
    return image.rot(angle) if angle else image


def _to_srgb8(image: pyvips.Image) -> pyvips.Image:
    """3-band 8-bit sRGB: alpha flattened on white, greys and 16-bit widened/narrowed."""
    if image.hasalpha():
        white = 65535 if image.format == "ushort" else 255
        image = image.flatten(background=[white] * (image.bands - 1))
    if image.interpretation not in ("srgb",) or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    return image


def _with_pillow(
    source: str | os.PathLike[str] | bytes,
    fallback_orientation: int | None,
    thumbnail_size: int,
    preview_size: int,
) -> Rendered:
    """The Pillow path, for what libvips cannot read; ``MediaDecodeError`` if neither can."""
    decoded = renditions.decode_image(
        source, fallback_orientation=fallback_orientation, min_size=preview_size
    )
    preview = renditions.preview_image(decoded.image, preview_size)
    made = renditions.make_renditions(preview, thumbnail_size, preview_size)
    return Rendered(
        width=decoded.width,
        height=decoded.height,
        orientation=decoded.orientation,
        thumbnail=made.thumbnail,
        preview=made.preview,
        phash=phash(renditions.fit(preview, thumbnail_size)),
    )
