"""ThumbHash placeholders: a ~25-byte blurry preview the browser paints before a thumbnail loads.

Encoded with the ``thumbhash`` package (the reference algorithm, pure Python) from the stored
thumbnail, which is already oriented. ThumbHash itself works on at most 100x100 pixels and keeps
only low frequencies, so the image is first shrunk to fit ``MAX_SIDE``: the hash barely changes
while the encoding gets several times faster. Exchanged as base64 (what npm ``thumbhash`` decodes).
"""

from __future__ import annotations

import base64
import io

import thumbhash
from PIL import Image, UnidentifiedImageError

MAX_SIDE = 48


def thumbhash_of(image_bytes: bytes) -> str | None:
    """Base64 ThumbHash of an encoded image (None when it cannot be decoded)."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if rgba.width == 0 or rgba.height == 0:
        return None
    digest = thumbhash.rgba_to_thumb_hash(rgba.width, rgba.height, list(rgba.tobytes()))
    return base64.b64encode(bytes(digest)).decode("ascii")
