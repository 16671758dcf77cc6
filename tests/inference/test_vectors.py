"""One behavioural suite, run on every vector-store adapter (embedded edge and qdrant-client)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from medianest.inference.vectors import (
    EdgeVectorStore,
    ModelMismatchError,
    QdrantClientVectorStore,
    UnknownCollectionError,
    VectorPoint,
    VectorStore,
    create_vector_store,
    make_point_id,
)

pytestmark = [pytest.mark.inference]

DIM = 8
KINDS = ["edge", "qdrant-local"]
StoreOpener = Callable[[Path], VectorStore]


def _open(kind: str, path: Path) -> VectorStore:
    if kind == "edge":
        return EdgeVectorStore(path)
    return QdrantClientVectorStore.local(path)


@pytest.fixture(params=KINDS)
def opener(request: pytest.FixtureRequest) -> StoreOpener:
    kind: str = request.param
    return lambda path: _open(kind, path)


@pytest.fixture
def store(opener: StoreOpener, tmp_path: Path) -> Iterator[VectorStore]:
    st = opener(tmp_path / "vectors")
    st.ensure_collection("images", DIM, "model-a", "1")
    yield st
    st.close()


def _vectors(n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    rows = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    unit: npt.NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


def _points(vectors: npt.NDArray[np.float32], prefix: str = "m") -> list[VectorPoint]:
    return [
        VectorPoint(make_point_id("image", f"{prefix}{i}"), v, {"media_store_id": f"{prefix}{i}"})
        for i, v in enumerate(vectors)
    ]


def test_search_returns_nearest_first_with_cosine_scores(store: VectorStore) -> None:
    vectors = _vectors(50)
    store.upsert("images", _points(vectors))
    query = vectors[7] + 0.05 * _vectors(1, seed=9)[0]
    hits = store.search("images", query, limit=5)
    expected = vectors @ (query / np.linalg.norm(query))
    order = np.argsort(-expected)[:5]
    assert [h.payload["media_store_id"] for h in hits] == [f"m{i}" for i in order]
    np.testing.assert_allclose([h.score for h in hits], expected[order], atol=1e-4)
    assert hits[0].payload["model"] == "model-a"
    assert hits[0].payload["model_version"] == "1"


def test_search_excludes_the_query_media(store: VectorStore) -> None:
    vectors = _vectors(10)
    store.upsert("images", _points(vectors))
    hits = store.search("images", vectors[3], limit=3, exclude_media_store_id="m3")
    assert "m3" not in {h.payload["media_store_id"] for h in hits}
    assert len(hits) == 3


def test_min_score_drops_weak_hits(store: VectorStore) -> None:
    vectors = _vectors(30)
    store.upsert("images", _points(vectors))
    hits = store.search("images", vectors[0], limit=30, min_score=0.5)
    assert hits
    assert all(h.score >= 0.5 for h in hits)
    assert len(hits) == int(np.sum(vectors @ vectors[0] >= 0.5 - 1e-6))


def test_search_never_mixes_vectors_of_two_models(store: VectorStore) -> None:
    store.upsert("images", _points(_vectors(5), prefix="a"))
    store.ensure_collection("images", DIM, "model-b", "1")
    store.upsert("images", _points(_vectors(5, seed=1), prefix="b"))
    query = _vectors(1, seed=2)[0]
    assert {h.payload["model"] for h in store.search("images", query, limit=20)} == {"model-b"}
    old = store.search("images", query, limit=20, model="model-a")
    assert {h.payload["model"] for h in old} == {"model-a"}
    assert len(old) == 5


def test_model_with_other_dimension_gets_its_own_collection(store: VectorStore) -> None:
    store.upsert("images", _points(_vectors(3)))
    store.ensure_collection("images", 4, "clip", "1")
    store.upsert("images", [VectorPoint(make_point_id("c"), [1, 0, 0, 0], {"media_store_id": "c"})])
    assert [h.payload["media_store_id"] for h in store.search("images", [1, 0, 0, 0])] == ["c"]
    assert len(store.search("images", _vectors(1)[0], model="model-a")) == 3
    with pytest.raises(ModelMismatchError):
        store.search("images", _vectors(1)[0])


def test_model_version_change_hides_vectors_of_the_old_version(store: VectorStore) -> None:
    store.upsert("images", _points(_vectors(4)))
    store.ensure_collection("images", DIM, "model-a", "2")
    assert store.search("images", _vectors(1)[0]) == []
    assert store.count("images") == 0


def test_upsert_from_another_model_or_size_is_refused(store: VectorStore) -> None:
    stale = {"media_store_id": "m1", "model": "model-old"}
    with pytest.raises(ModelMismatchError):
        store.upsert("images", [VectorPoint(make_point_id("x"), _vectors(1)[0], stale)])
    with pytest.raises(ModelMismatchError):
        store.upsert(
            "images", [VectorPoint(make_point_id("y"), [1.0, 0.0], {"media_store_id": "m"})]
        )
    assert store.count("images") == 0


def test_delete_by_media_removes_its_points_in_every_model(store: VectorStore) -> None:
    faces = [
        VectorPoint(make_point_id("face", str(i)), v, {"media_store_id": "m1", "face_id": str(i)})
        for i, v in enumerate(_vectors(3))
    ]
    store.upsert("images", [*faces, *_points(_vectors(2, seed=5), prefix="keep")])
    store.ensure_collection("images", DIM, "model-b", "1")
    store.upsert("images", _points(_vectors(1, seed=3), prefix="m"))  # m0 of model-b
    store.delete_by_media("images", "m1")
    store.delete_by_media("images", "m0")
    assert store.count("images") == 0
    remaining = store.search("images", _vectors(1)[0], limit=10, model="model-a")
    assert {h.payload["media_store_id"] for h in remaining} == {"keep0", "keep1"}


def test_delete_points_removes_only_those_ids(store: VectorStore) -> None:
    points = _points(_vectors(4))
    store.upsert("images", points)
    store.delete_points("images", [points[0].id, points[2].id])
    assert store.count("images") == 2
    assert store.get_vector("images", points[0].id) is None


def test_reupsert_with_same_id_replaces_the_point(store: VectorStore) -> None:
    first, second = _vectors(2)
    point_id = make_point_id("image", "m1")
    store.upsert("images", [VectorPoint(point_id, first, {"media_store_id": "m1"})])
    store.upsert("images", [VectorPoint(point_id, second, {"media_store_id": "m1", "n": 2})])
    assert store.count("images") == 1
    stored = store.get_vector("images", point_id)
    assert stored is not None
    np.testing.assert_allclose(stored, second, atol=1e-5)
    assert store.search("images", second, limit=1)[0].payload["n"] == 2


def test_get_vector_of_unknown_point_is_none(store: VectorStore) -> None:
    assert store.get_vector("images", make_point_id("missing")) is None


def test_collection_without_active_model_is_reported(store: VectorStore) -> None:
    with pytest.raises(UnknownCollectionError):
        store.search("faces", _vectors(1)[0])
    with pytest.raises(UnknownCollectionError):
        store.search("images", _vectors(1)[0], model="never-used")


def test_point_ids_must_be_uuids(store: VectorStore) -> None:
    with pytest.raises(ValueError, match="UUID"):
        store.upsert("images", [VectorPoint("face-1", _vectors(1)[0], {"media_store_id": "m"})])


def test_points_survive_closing_and_reopening(opener: StoreOpener, tmp_path: Path) -> None:
    path = tmp_path / "persisted"
    vectors = _vectors(20)
    first = opener(path)
    first.ensure_collection("faces", DIM, "sface", "1")
    first.upsert("faces", _points(vectors))
    first.close()
    second = opener(path)
    second.ensure_collection("faces", DIM, "sface", "1")
    assert second.count("faces") == 20
    assert second.search("faces", vectors[4], limit=1)[0].payload["media_store_id"] == "m4"
    second.close()


def test_optimize_keeps_search_results(store: VectorStore) -> None:
    vectors = _vectors(300)
    store.upsert("images", _points(vectors))
    before = [h.id for h in store.search("images", vectors[10], limit=5)]
    store.optimize()
    assert [h.id for h in store.search("images", vectors[10], limit=5)] == before


def test_factory_picks_embedded_store_without_url(tmp_path: Path) -> None:
    store = create_vector_store(tmp_path)
    try:
        assert isinstance(store, EdgeVectorStore)
        assert (tmp_path / "vectors").is_dir()
    finally:
        store.close()


def test_point_ids_are_deterministic() -> None:
    assert make_point_id("face", "42") == make_point_id("face", "42")
    assert make_point_id("face", "42") != make_point_id("image", "42")


def test_get_vectors_reads_many_points_and_leaves_unknown_ids_out(store: VectorStore) -> None:
    vectors = _vectors(300)
    points = _points(vectors)
    store.upsert("images", points)
    wanted = [p.id for p in points] + [make_point_id("missing")]
    found = store.get_vectors("images", wanted)
    assert set(found) == {p.id for p in points}
    for i, point in enumerate(points):
        np.testing.assert_allclose(found[point.id], vectors[i], atol=1e-5)


def test_quantised_index_keeps_recall_at_10_of_exact_search(
    opener: StoreOpener, tmp_path: Path
) -> None:
    """int8 scalar quantisation with rescoring: same neighbours as exact search (clustered data)."""
    rng = np.random.default_rng(3)
    dim = 64
    centers = rng.normal(size=(40, dim))
    rows = centers[rng.integers(0, 40, 3000)] + 0.4 * rng.normal(size=(3000, dim))
    corpus = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    st = opener(tmp_path / "quantised")
    try:
        st.ensure_collection("images", dim, "model-a", "1")
        st.upsert("images", _points(corpus))
        st.optimize()
        recalls = []
        for q in corpus[:20]:
            exact = {f"m{i}" for i in np.argsort(-(corpus @ q))[:10]}
            found = {h.payload["media_store_id"] for h in st.search("images", q, limit=10)}
            recalls.append(len(exact & found) / 10)
        assert float(np.mean(recalls)) >= 0.95
    finally:
        st.close()
