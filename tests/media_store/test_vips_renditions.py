"""The libvips rendering path against the Pillow path it replaced: same pHash, same renditions.

pHash values stored before the switch (Pillow, from the 1440 px preview) must keep matching the
ones computed now (libvips, from the 256 px thumbnail), or near-duplicates of old uploads would
be missed. Photos: generated ones and scikit-image's sample pictures, each with edited copies.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from medianest.media_store.media import MediaDecodeError, renditions, vips
from medianest.media_store.media.phash import NEAR_DUPLICATE_DISTANCE, hamming, phash
from tests.media_store import media_factory as mf

pytestmark = [pytest.mark.media_store]


def _pillow_phash(data: bytes) -> str:
    """The pHash exactly as stored before libvips (decode, 1440 px preview, pHash of that)."""
    return phash(renditions.preview_image(renditions.decode_image(data).image))


def _photos() -> dict[str, Image.Image]:
    photos = {f"generated{seed}": mf.natural_image(800, 600, seed=seed) for seed in range(3)}
    from skimage import data

    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        photos[name] = Image.fromarray(getattr(data, name)()).convert("RGB")
    return photos


def _copies(image: Image.Image) -> dict[str, bytes]:
    half = (image.width // 2, image.height // 2)
    return {
        "original": mf.encode(image, "JPEG", quality=92),
        "large": mf.encode(image.resize((image.width * 3, image.height * 3)), "JPEG", quality=90),
        "half": mf.encode(image.resize(half, Image.Resampling.LANCZOS), "JPEG", quality=90),
        "jpeg_q50": mf.encode(image, "JPEG", quality=50),
        "brighter": mf.encode(ImageEnhance.Brightness(image).enhance(1.15), "JPEG", quality=90),
        "png": mf.encode(image, "PNG"),
        "webp": mf.encode(image, "WEBP", quality=60),
    }


@pytest.fixture(scope="module")
def hashes() -> dict[tuple[str, str], tuple[str, str]]:
    """(photo, copy) -> (pHash by the old Pillow path, pHash by the libvips path)."""
    result = {}
    for name, image in _photos().items():
        for kind, data in _copies(image).items():
            result[name, kind] = (_pillow_phash(data), vips.render(data).phash)
    return result


def test_new_phash_stays_within_two_bits_of_the_old_one(
    hashes: dict[tuple[str, str], tuple[str, str]],
) -> None:
    distances = {key: hamming(old, new) for key, (old, new) in hashes.items()}
    assert max(distances.values()) <= 2, distances


def test_old_stored_phash_still_matches_edited_copies_hashed_now(
    hashes: dict[tuple[str, str], tuple[str, str]],
) -> None:
    """An upload hashed before the switch is found from a copy uploaded after it."""
    photos = {name for name, _ in hashes}
    for name in photos:
        old_original = hashes[name, "original"][0]
        for (other, kind), (_, new) in hashes.items():
            distance = hamming(old_original, new)
            if other == name:
                assert distance <= NEAR_DUPLICATE_DISTANCE, (name, kind, distance)
            else:
                assert distance > NEAR_DUPLICATE_DISTANCE * 2, (name, other, kind, distance)


def test_renditions_match_the_pillow_ones() -> None:
    image = Image.fromarray(__import__("skimage.data", fromlist=["x"]).astronaut())
    data = mf.encode(image.resize((2048, 2048)), "JPEG", quality=92)
    new = vips.render(data)
    old = renditions.make_renditions(renditions.decode_image(data).image)
    for new_bytes, old_bytes in ((new.preview, old.preview), (new.thumbnail, old.thumbnail)):
        a, b = Image.open(io.BytesIO(new_bytes)), Image.open(io.BytesIO(old_bytes))
        assert (a.format, a.size) == (b.format, b.size)
        grey_a = np.asarray(a.convert("L"), dtype=np.float64)
        grey_b = np.asarray(b.convert("L"), dtype=np.float64)
        assert np.abs(grey_a - grey_b).mean() < 4  # mean grey difference in 0..255


def test_raw_preview_without_own_orientation_gets_the_raw_one() -> None:
    data = mf.jpeg_bytes(mf.marked_image(400, 300))
    rendered = vips.render(data, fallback_orientation=6)
    assert (rendered.width, rendered.height, rendered.orientation) == (300, 400, None)
    thumb = Image.open(io.BytesIO(rendered.thumbnail)).convert("RGB")
    assert thumb.getpixel((thumb.width - 3, 3))[0] > 200  # type: ignore[index]


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_files_fail_instead_of_rendering_grey(keep: float) -> None:
    with pytest.raises(MediaDecodeError):
        vips.render(mf.truncated_jpeg(keep=keep))
    with pytest.raises(MediaDecodeError):
        vips.render(mf.png_bytes()[: int(len(mf.png_bytes()) * keep)])
