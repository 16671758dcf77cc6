"""Search latency and recall of the embedded vector store (qdrant-edge) on real image embeddings.

Random vectors make HNSW recall meaningless, so the corpus starts from EfficientNet-Lite0
embeddings of augmented photos (scikit-image, matplotlib) and generated pictures; it is padded up
to each size with noisy copies around those embeddings (clusters, like a real library with
bursts of similar photos). Queries are embeddings of *other* augmentations, never inserted.

For each size it prints p50/p95 latency of ``VectorStore.search(limit=10)`` before and after
``optimize()`` (exact scan, then HNSW) and recall@10 against exact numpy search.
Goal: p95 < 20 ms at 100k on 2 cores.

    python bench/vector_search.py                 # 10k and 100k
    python bench/vector_search.py --n 10000 --real 120 --queries 50   # quick run
"""

from __future__ import annotations

import sys
from pathlib import Path

# A sibling script (bench/queue.py) is named like the stdlib ``queue``, which torch imports:
# keep this folder off the import path when run as ``python bench/vector_search.py``.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import skimage.data  # noqa: E402
from bench.report import record  # noqa: E402
from matplotlib import cbook  # noqa: E402
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter  # noqa: E402

from medianest.inference.ml import load_image  # noqa: E402
from medianest.inference.ml.image import EfficientNetLite0  # noqa: E402
from medianest.inference.vectors import EdgeVectorStore, VectorPoint, make_point_id  # noqa: E402

Matrix = npt.NDArray[np.float32]
SKIMAGE_PHOTOS = [
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
]
MPL_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")


def base_images(generated: int, rng: np.random.Generator) -> list[Image.Image]:
    """Shipped photos plus generated scenes: varied content without any download."""
    photos = [_as_pil(getattr(skimage.data, name)()) for name in SKIMAGE_PHOTOS]
    for name in MPL_PHOTOS:
        path = Path(str(cbook.get_sample_data(name, asfileobj=False)))
        photos.append(Image.fromarray(load_image(path)))
    return photos + [_scene(rng) for _ in range(generated)]


def _as_pil(array: npt.NDArray[np.generic]) -> Image.Image:
    data = np.asarray(array)
    if data.dtype == bool:
        data = data.astype(np.uint8) * 255
    if data.ndim == 2:
        data = np.stack([data] * 3, axis=-1)
    return Image.fromarray(data[..., :3].astype(np.uint8))


def _scene(rng: np.random.Generator) -> Image.Image:
    """A random gradient background with a few coloured shapes."""
    w, h = int(rng.integers(320, 720)), int(rng.integers(240, 560))
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0.0, 1.0, h)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp) * np.ones((1, w, 1))
    img = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 7))):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        box = (x0, y0, x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return img


def augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A plausible variant of a photo: crop, flip, rotate, colour, blur, rescale, JPEG."""
    w, h = img.size
    scale = rng.uniform(0.7, 1.0)
    cw, ch = int(w * scale), int(h * scale)
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = img.crop((left, top, left + cw, top + ch))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = out.rotate(float(rng.uniform(-12, 12)), expand=False, fillcolor=(0, 0, 0))
    out = ImageEnhance.Color(out).enhance(float(rng.uniform(0.6, 1.4)))
    out = ImageEnhance.Brightness(out).enhance(float(rng.uniform(0.75, 1.25)))
    if rng.random() < 0.3:
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    factor = rng.uniform(0.4, 1.0)
    out = out.resize((max(64, int(out.width * factor)), max(64, int(out.height * factor))))
    return _jpeg_roundtrip(out, int(rng.integers(35, 95)))


def _jpeg_roundtrip(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def embed_variants(
    model: EfficientNetLite0, bases: list[Image.Image], per_base: int, rng: np.random.Generator
) -> Matrix:
    """Embed ``per_base`` augmentations of every base image, in batches of 16."""
    images = [np.asarray(augment(b, rng)) for b in bases for _ in range(per_base)]
    vectors: list[Matrix] = []
    for start in range(0, len(images), 16):
        vectors.extend(model.embed(images[start : start + 16]))
    return np.vstack(vectors).astype(np.float32)


def pad_with_noise(real: Matrix, total: int, rng: np.random.Generator) -> Matrix:
    """Noisy unit vectors around real embeddings (cosine ~0.6-0.95 to their centre)."""
    extra = total - len(real)
    if extra <= 0:
        return real[:total]
    centres = real[rng.integers(0, len(real), extra)]
    sigma = rng.uniform(0.01, 0.04, (extra, 1)).astype(np.float32)
    noisy = centres + sigma * rng.standard_normal(centres.shape, dtype=np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return np.vstack([real, noisy]).astype(np.float32)


def exact_top10(corpus: Matrix, queries: Matrix) -> list[set[int]]:
    scores = queries @ corpus.T
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    return [set(row.tolist()) for row in top]


def load_store(root: Path, corpus: Matrix) -> tuple[EdgeVectorStore, float]:
    store = EdgeVectorStore(root)
    store.ensure_collection("bench", corpus.shape[1], "efficientnet-lite0", "1")
    started = time.perf_counter()
    for start in range(0, len(corpus), 4096):
        chunk = corpus[start : start + 4096]
        store.upsert("bench", list(_points(chunk, start)))
    return store, time.perf_counter() - started


def _points(chunk: Matrix, offset: int) -> Iterator[VectorPoint]:
    for i, vector in enumerate(chunk, start=offset):
        yield VectorPoint(make_point_id("bench", str(i)), vector, {"media_store_id": str(i)})


def measure(
    search: Callable[[Matrix], list[int]], queries: Matrix, truth: list[set[int]]
) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, recall@10) over all queries, after a short warm-up."""
    for q in queries[:5]:
        search(q)
    latencies, recalls = [], []
    for q, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = search(q)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(expected & set(found)) / 10)
    p50, p95 = np.percentile(latencies, [50, 95])
    return float(p50), float(p95), float(np.mean(recalls))


def run_size(
    n: int, real: Matrix, queries: Matrix, rng: np.random.Generator, hnsw_efs: list[int]
) -> None:
    corpus = pad_with_noise(real, n, rng)
    truth = exact_top10(corpus, queries)
    with tempfile.TemporaryDirectory(prefix="medianest-bench-") as tmp:
        store, load_s = load_store(Path(tmp), corpus)

        def search(q: Matrix) -> list[int]:
            hits = store.search("bench", q, limit=10)
            return [int(h.payload["media_store_id"]) for h in hits]

        print(f"\n{n:,} vectors x {corpus.shape[1]}-d: loaded in {load_s:.1f} s")
        exact = measure(search, queries, truth)
        _report("before optimize (exact)", exact)
        brute = measure(_numpy_search(corpus), queries, truth)
        record(f"similar images p95 at {n:,}, right after bulk import", exact[1], unit="ms",
               baseline=brute[1], baseline_name="numpy brute force", goal=("<", 20),
               on="value")  # fmt: skip
        started = time.perf_counter()
        store.optimize()
        print(f"  optimize(): {time.perf_counter() - started:.1f} s")
        indexed = measure(search, queries, truth)
        _report(f"after optimize (ef={store.hnsw_ef})", indexed)
        record(f"similar images p95 at {n:,}, indexed", indexed[1], unit="ms", goal=("<", 20),
               on="value", note=f"recall@10 {indexed[2]:.3f}")  # fmt: skip
        default_ef = store.hnsw_ef
        for ef in hnsw_efs:
            store.hnsw_ef = ef or None
            _report(f"  with hnsw_ef={ef or 'engine'}", measure(search, queries, truth))
        store.hnsw_ef = default_ef
        _report("numpy brute force", brute)
        store.close()


def _numpy_search(corpus: Matrix) -> Callable[[Matrix], list[int]]:
    def search(q: Matrix) -> list[int]:
        scores = corpus @ q
        return [int(i) for i in np.argpartition(-scores, 10)[:10]]

    return search


def _report(label: str, figures: tuple[float, float, float]) -> None:
    p50, p95, recall = figures
    print(f"  {label:<26} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   recall@10 {recall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--real", type=int, default=320, help="real embeddings to insert")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hnsw-ef", type=int, nargs="*", default=[0, 64, 128], help="0 = engine default"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    model = EfficientNetLite0()
    bases = base_images(generated=20, rng=rng)
    per_base = max(1, -(-args.real // len(bases)))
    real = embed_variants(model, bases, per_base, rng)
    real = real[rng.permutation(len(real))[: args.real]]
    queries = embed_variants(model, bases, max(1, -(-args.queries // len(bases))), rng)
    queries = queries[rng.permutation(len(queries))[: args.queries]]
    print(f"embedded {len(real)} + {len(queries)} images in {time.perf_counter() - started:.1f} s")
    for n in args.n:
        run_size(n, real, queries, rng, args.hnsw_ef)


if __name__ == "__main__":
    main()
