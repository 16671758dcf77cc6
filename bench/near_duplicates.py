"""Near duplicates that survive real edits: pHash alone vs pHash OR image-embedding similarity.

Photos that packages ship (scikit-image's sample pictures, matplotlib's sample photos) each get
six edited copies: half size, JPEG quality 50, 5 % crop, +15 % brightness, PNG, 3 degree rotation.
For every (original, copy) pair of the same photo (positives) and every pair of different
photos (negatives) the bench computes, with the service's own code:

* the pHash Hamming distance (media store: libvips rendering, ``NEAR_DUPLICATE_DISTANCE``);
* the cosine similarity of the EfficientNet-Lite0 embeddings (inference service, ONNX Runtime).

It picks the lowest embedding threshold that adds no false positive (just above the most
similar pair of different photos), and prints recall and false positives for pHash alone and
for the combination "pHash distance <= 8 OR cosine >= threshold" (goal: recall >= 95 %,
false positives <= 1 %).

    python bench/near_duplicates.py
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import io  # noqa: E402
import itertools  # noqa: E402

import numpy as np  # noqa: E402
from bench.report import record  # noqa: E402
from PIL import Image, ImageEnhance  # noqa: E402

from medianest.inference.ml.base import load_image  # noqa: E402
from medianest.inference.ml.efficientnet_onnx import EfficientNetLite0Onnx  # noqa: E402
from medianest.media_store.media import vips  # noqa: E402
from medianest.media_store.media.phash import NEAR_DUPLICATE_DISTANCE, hamming  # noqa: E402

SKIMAGE = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick",
           "hubble_deep_field", "immunohistochemistry", "moon", "page", "text", "grass",
           "gravel", "colorwheel", "retina", "logo", "horse", "clock")  # fmt: skip
MATPLOTLIB = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")


def photos() -> dict[str, Image.Image]:
    from matplotlib import cbook
    from skimage import data

    found: dict[str, Image.Image] = {}
    for name in SKIMAGE:
        try:
            array = getattr(data, name)()
        except Exception:
            continue
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        found[name] = Image.fromarray(array).convert("RGB")
    for name in MATPLOTLIB:
        try:
            path = cbook.get_sample_data(name, asfileobj=False)
            found[name] = Image.open(str(path)).convert("RGB")
        except (OSError, ValueError):
            continue
    return found


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 92} | options if fmt == "JPEG" else options))
    return out.getvalue()


def edits(image: Image.Image) -> dict[str, bytes]:
    w, h = image.size
    dx, dy = int(w * 0.05 / 2), int(h * 0.05 / 2)
    return {
        "half size": encode(image.resize((w // 2, h // 2), Image.Resampling.LANCZOS)),
        "JPEG q50": encode(image, quality=50),
        "5% crop": encode(image.crop((dx, dy, w - dx, h - dy))),
        "+15% brightness": encode(ImageEnhance.Brightness(image).enhance(1.15)),
        "PNG": encode(image, "PNG"),
        "3 deg rotation": encode(image.rotate(3, resample=Image.Resampling.BICUBIC)),
    }


def main() -> None:
    model = EfficientNetLite0Onnx()
    pictures = photos()
    originals: dict[str, tuple[str, np.ndarray]] = {}
    copies: list[tuple[str, str, str, np.ndarray]] = []
    for name, image in pictures.items():
        data = encode(image)
        (vector,) = model.embed([load_image(data)])
        originals[name] = (vips.render(data).phash, vector)
        for kind, edited in edits(image).items():
            (vec,) = model.embed([load_image(edited)])
            copies.append((name, kind, vips.render(edited).phash, vec))
    positives = [(hamming(originals[n][0], h), float(originals[n][1] @ v), n, k)
                 for n, k, h, v in copies]  # fmt: skip
    every = [(n, h, v) for n, (h, v) in originals.items()] + [(n, h, v) for n, _, h, v in copies]
    negatives = [(hamming(a[1], b[1]), float(a[2] @ b[2]))
                 for a, b in itertools.combinations(every, 2) if a[0] != b[0]]  # fmt: skip
    # the lowest threshold that adds no false positive: just above the most similar pair of
    # different photos (the 1 % budget is left to pHash and to photos not seen here)
    threshold = round(max(s for _, s in negatives) + 0.005, 3)

    def found(d: int, s: float, use_embedding: bool) -> bool:
        return d <= NEAR_DUPLICATE_DISTANCE or (use_embedding and s >= threshold)

    print(f"near duplicates: {len(pictures)} photos x 6 edits = {len(positives)} copies, "
          f"{len(negatives)} pairs of different photos")  # fmt: skip
    for label, use in (("pHash alone", False), ("pHash or embedding", True)):
        recall = sum(found(d, s, use) for d, s, _, _ in positives) / len(positives)
        fp = sum(found(d, s, use) for d, s in negatives) / len(negatives)
        print(f"  {label:<20} recall {recall:6.1%}   false positives {fp:6.2%}")
        by_kind = {}
        for d, s, _, kind in positives:
            by_kind.setdefault(kind, []).append(found(d, s, use))
        print("    " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in by_kind.items()))
        if use:
            record("near duplicates: recall (pHash or embedding)", recall * 100, unit="%",
                   goal=(">=", 95), on="value",
                   note=f"cosine threshold {threshold:.3f}")  # fmt: skip
            record("near duplicates: false positives", fp * 100, unit="%", goal=("<=", 1),
                   on="value")  # fmt: skip
        else:
            record("near duplicates: recall (pHash alone, before)", recall * 100, unit="%")
    print(f"  embedding threshold (just above the most similar different photos): "
          f"cosine >= {threshold:.3f}")  # fmt: skip
    worst = sorted(positives, key=lambda p: p[1])[:5]
    print("  hardest copies: " + ", ".join(f"{n}/{k} d={d} cos={s:.3f}" for d, s, n, k in worst))


if __name__ == "__main__":
    main()
