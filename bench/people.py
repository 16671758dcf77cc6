"""People grouping: speed at 100k faces and quality on the test set.

1. A library of N synthetic face embeddings (default 100k): persons drawn around random centres
   on the 128-d sphere with SFace-like spread (same person within ~0.35 cosine distance), sizes
   from a long-tailed distribution, plus 5% strangers seen once. Faces go into a real SQLite
   database (migrated) and the embedded vector store (qdrant-edge, HNSW built).
2. Full regroup (``POST /admin/people/regroup``'s work, database and vector store included) and
   the in-memory clustering alone, each with time and peak memory (RSS sampled), against
   scikit-learn's DBSCAN (same eps and min samples, brute cosine) on the same vectors.
3. Assigning one new face at N grouped faces: one grouping run for one new face (nearest
   neighbours from the vector store, database reads and writes, commit). Goal: p95 < 20 ms.
4. Pairwise precision / recall of the grouping on the synthetic library and on the test set
   (YuNet + SFace on the edited package photos, tests/inference/people_photos.py).

    python bench/people.py                      # 100k faces
    python bench/people.py --faces 20000 --new 100 --skip-dbscan   # quick run
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))  # tests.inference.people_photos: the test set

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from medianest.common.db import Database  # noqa: E402
from medianest.inference.db import migrate, transaction  # noqa: E402
from medianest.inference.models import DetectedFace  # noqa: E402
from medianest.inference.results.identity import (  # noqa: E402
    FACE_COLLECTION,
    ModelIdentity,
    face_model,
)
from medianest.inference.results.vectors import VectorIndex  # noqa: E402
from medianest.inference.service.grouping import (  # noqa: E402
    ArrayBackend,
    GroupingParams,
    group_faces,
)
from medianest.inference.service.person_grouping import (  # noqa: E402
    regroup_all,
    run_grouping,
)
from medianest.inference.vectors import EdgeVectorStore, VectorPoint, make_point_id  # noqa: E402

Matrix = npt.NDArray[np.float32]
DIM = 128
NOISE = 0.045  # per dimension: same-person distances up to ~0.35, like SFace on edited photos
PARAMS = GroupingParams(max_distance=0.5, min_faces=3, neighbours=32)


def unit(rows: Any) -> Matrix:
    rows = np.asarray(rows, dtype=np.float32)
    scaled: Matrix = rows / np.linalg.norm(rows, axis=-1, keepdims=True)
    return scaled


def library(n: int, seed: int = 0) -> tuple[Matrix, list[int], Matrix]:
    """(vectors, person label per face (-1 - i for strangers), centres)."""
    rng = np.random.default_rng(seed)
    strangers = n // 20
    sizes: list[int] = []
    while sum(sizes) < n - strangers:
        sizes.append(int(min(2000, max(1, rng.lognormal(2.4, 1.0)))))
    sizes[-1] -= sum(sizes) - (n - strangers)
    centres = unit(rng.normal(size=(len(sizes), DIM)))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    vectors = unit(centres[labels] + rng.normal(scale=NOISE, size=(len(labels), DIM)))
    lonely = unit(rng.normal(size=(strangers, DIM)))
    order = rng.permutation(n)
    all_vectors = np.vstack([vectors, lonely])[order]
    all_labels = [*labels.tolist(), *(-1 - i for i in range(strangers))]
    return all_vectors, [all_labels[i] for i in order], centres


def pair_scores(truth: list[int] | list[str], groups: list[int | None]) -> tuple[float, float]:
    """Pairwise precision and recall from the contingency counts (unassigned: no pairs)."""

    def pairs(counts: Iterator[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    both: dict[tuple[Any, int], int] = {}
    pred: dict[int, int] = {}
    true: dict[Any, int] = {}
    for t, g in zip(truth, groups, strict=True):
        true[t] = true.get(t, 0) + 1
        if g is not None:
            pred[g] = pred.get(g, 0) + 1
            both[(t, g)] = both.get((t, g), 0) + 1
    tp, p, t = pairs(iter(both.values())), pairs(iter(pred.values())), pairs(iter(true.values()))
    return (tp / p if p else 1.0), (tp / t if t else 1.0)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Measure:
    seconds: float = 0.0
    peak_mb: float = 0.0
    samples: list[float] = field(default_factory=list)


@contextmanager
def measured() -> Iterator[Measure]:
    """Wall time and the peak RSS growth over the block (sampled every 20 ms)."""
    result = Measure()
    start_rss = rss_mb()
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        result.peak_mb = max(peak[0], rss_mb()) - start_rss


def face_row(i: int, media: int) -> dict[str, Any]:
    return {
        "id": make_point_id("bench-face", str(i)), "media_store_id": media, "x": 10, "y": 10,
        "width": 60, "height": 70, "landmarks": [], "confidence": 0.9, "model": "yunet",
        "model_version": "2023mar-int8bq", "embedding_model": "sface", "created_at": i,
    }  # fmt: skip


def fill(db: Database, index: VectorIndex, vectors: Matrix) -> list[str]:
    ids = []
    for start in range(0, len(vectors), 5000):
        rows = [face_row(i, i // 2 + 1) for i in range(start, min(len(vectors), start + 5000))]
        with transaction(db) as session:
            session.execute(insert(DetectedFace), rows)
        points = [
            VectorPoint(r["id"], vectors[i + start],
                        {"media_store_id": str(r["media_store_id"]), "face_id": r["id"]})
            for i, r in enumerate(rows)
        ]  # fmt: skip
        index.store.upsert(FACE_COLLECTION, points)
        ids += [r["id"] for r in rows]
    return ids


def assign_new(
    db: Database, index: VectorIndex, centres: Matrix, count: int, first: int, seed: int = 1
) -> list[float]:
    """Store one new face (untimed), then time the grouping run that assigns it."""
    rng = np.random.default_rng(seed)
    times = []
    for k in range(count):
        i = first + k
        if k % 10 == 9:  # a stranger now and then
            vector = unit(rng.normal(size=DIM))
        else:
            vector = unit(centres[rng.integers(len(centres))] + rng.normal(scale=NOISE, size=DIM))
        row = face_row(i, 10_000_000 + i)
        with transaction(db) as session:
            session.execute(insert(DetectedFace), [row])
        point = {"media_store_id": str(row["media_store_id"]), "face_id": row["id"]}
        index.store.upsert(FACE_COLLECTION, [VectorPoint(row["id"], vector, point)])
        started = time.perf_counter()
        with transaction(db) as session:
            report = run_grouping(session, index, PARAMS, limit=10)
        times.append((time.perf_counter() - started) * 1000)
        assert report.grouped == 1, report
    return times


def persons_of(db: Database, ids: list[str]) -> list[int | None]:
    with transaction(db) as session:
        rows = session.execute(select(DetectedFace.id, DetectedFace.person_id))
        found: dict[str, int | None] = dict(rows.tuples().all())
    return [found.get(face) for face in ids]


def search_baseline(index: VectorIndex, centres: Matrix, count: int) -> list[float]:
    """One nearest-neighbour query of the face collection, as grouping makes it."""
    rng = np.random.default_rng(2)
    times = []
    for _ in range(count):
        vector = unit(centres[rng.integers(len(centres))] + rng.normal(scale=NOISE, size=DIM))
        started = time.perf_counter()
        index.similar_faces(vector, PARAMS.neighbours + 1, 1 - PARAMS.max_distance)
        times.append((time.perf_counter() - started) * 1000)
    return times


def cluster_in_memory(vectors: Matrix) -> list[int | None]:
    ids = [str(i) for i in range(len(vectors))]
    backend = ArrayBackend(ids, vectors, PARAMS)
    group_faces(backend, ids, PARAMS)
    return [backend.person_of(i) for i in ids]


def dbscan(vectors: Matrix) -> list[int | None]:
    from sklearn.cluster import DBSCAN  # type: ignore[import-untyped]

    labels = DBSCAN(
        eps=PARAMS.max_distance, min_samples=PARAMS.min_faces, metric="cosine", algorithm="brute"
    ).fit_predict(vectors)
    return [None if int(label) < 0 else int(label) for label in labels]


def run_measured(fn: Callable[[], Any]) -> tuple[Any, Measure]:
    with measured() as m:
        value = fn()
    return value, m


class Rows(list[tuple[str, str, str]]):
    """Each row is printed as soon as it is measured (a 100k run takes long on a busy box)."""

    def append(self, row: tuple[str, str, str]) -> None:
        super().append(row)
        print(f"  .. {row[0].strip()}: {row[1]}  {row[2]}", flush=True)


def table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':<{width}}  {'value':>22}  note")
    print("-" * (width + 40))
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>22}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=200, help="new faces assigned one by one")
    parser.add_argument("--skip-dbscan", action="store_true")
    parser.add_argument("--in-memory", action="store_true", help="also time clustering alone")
    parser.add_argument("--skip-photos", action="store_true", help="no real-model test set")
    args = parser.parse_args()
    rows = Rows()

    vectors, truth, centres = library(args.faces)
    strangers = sum(1 for t in truth if t < 0)
    print(f"library: {len(vectors)} faces, {len(centres)} persons, {strangers} strangers")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/people.db"
        migrate(url)
        db = Database(url)
        image = ModelIdentity("bench-image", "1", 8)
        index = VectorIndex(EdgeVectorStore(Path(tmp) / "vectors"), image, face_model(),
                            optimize_after=10**9)  # fmt: skip
        started = time.perf_counter()
        ids = fill(db, index, vectors)
        index.store.optimize()
        print(f"stored and indexed in {time.perf_counter() - started:.0f} s")

        def regroup() -> Any:
            with transaction(db) as session:
                return regroup_all(session, index, PARAMS)

        report, full = run_measured(regroup)
        precision, recall = pair_scores(truth, persons_of(db, ids))
        note = f"peak +{full.peak_mb:.0f} MB; P {precision:.4f} R {recall:.4f}"
        rows.append((f"full regroup, {args.faces} faces", f"{full.seconds:.1f} s", note))
        rows.append(("  persons found / true persons", f"{report.created} / {len(centres)}",
                     "strangers stay unassigned"))  # fmt: skip
        if args.in_memory:
            groups, mem = run_measured(lambda: cluster_in_memory(vectors))
            precision, recall = pair_scores(truth, groups)
            note = f"peak +{mem.peak_mb:.0f} MB; P {precision:.4f} R {recall:.4f}"
            rows.append(("  clustering alone (in memory)", f"{mem.seconds:.1f} s", note))
        baseline = search_baseline(index, centres, args.new)
        times = assign_new(db, index, centres, args.new, args.faces)
        p95 = float(np.percentile(times, 95))
        verdict = "goal < 20 ms: " + ("met" if p95 < 20 else "MISSED")
        p50 = f"{statistics.median(times):.1f} ms"
        note = f"{args.new} faces, one grouping run each"
        rows.append((f"assign 1 new face at {args.faces}, p50", p50, note))
        rows.append(("  p95", f"{p95:.1f} ms", verdict))
        rows.append(("  max", f"{max(times):.1f} ms", ""))
        rows.append(("  baseline: one vector search, p50 / p95",
                     f"{statistics.median(baseline):.1f} / {np.percentile(baseline, 95):.1f} ms",
                     "the floor of an assignment, same run"))  # fmt: skip
        index.close()
        db.dispose()
    if not args.skip_photos:
        from tests.inference import people_photos

        labels_, faces = people_photos.labelled_vectors()
        groups = cluster_in_memory(faces)
        precision, recall = people_photos.pairwise_precision_recall(labels_, groups)
        distance = 1 - faces @ faces.T
        same = [distance[i, j] for i in range(len(labels_)) for j in range(i + 1, len(labels_))
                if labels_[i] == labels_[j]]  # fmt: skip
        other = [distance[i, j] for i in range(len(labels_)) for j in range(i + 1, len(labels_))
                 if labels_[i] != labels_[j]]  # fmt: skip
        name = f"test set: {len(labels_)} faces, {len(set(labels_))} people"
        value = f"P {precision:.3f} R {recall:.3f}"
        rows.append((name, value, "pairwise, default settings"))
        rows.append(("  same person distance (max)", f"{max(same):.3f}", "SFace cosine distance"))
        note = f"INFERENCE_PERSON_MAX_DISTANCE default {PARAMS.max_distance}"
        rows.append(("  different people distance (min)", f"{min(other):.3f}", note))
        if not args.skip_dbscan:
            precision, recall = pair_scores(labels_, dbscan(faces))
            rows.append(("  scikit-learn DBSCAN", f"P {precision:.3f} R {recall:.3f}", ""))
    if not args.skip_dbscan:
        labels, sk = run_measured(lambda: dbscan(vectors))
        precision, recall = pair_scores(truth, labels)
        note = f"peak +{sk.peak_mb:.0f} MB; P {precision:.4f} R {recall:.4f}"
        name = f"scikit-learn DBSCAN, {args.faces} faces (same vectors)"
        rows.append((name, f"{sk.seconds:.1f} s", note))
    table(rows)


if __name__ == "__main__":
    main()
