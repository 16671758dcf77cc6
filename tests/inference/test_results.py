"""The result layer without models: the vector index on both adapters, its background
maintenance, label word matching, result validation and the model identities from settings."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medianest.inference.config import ModelSettings, Settings
from medianest.inference.results import identity, validate
from medianest.inference.results.vectors import VectorIndex, open_vector_index
from medianest.inference.service.search import search_words, word_matches
from medianest.inference.tasks import InvalidResult
from medianest.inference.vectors import EdgeVectorStore, QdrantClientVectorStore, VectorStore

pytestmark = [pytest.mark.inference]

IMAGE = identity.ModelIdentity("img-model", "1", 8)
FACE = identity.ModelIdentity("face-model", "1", 4)


def _unit(seed: int, dim: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=dim)
    values: list[float] = (vector / np.linalg.norm(vector)).tolist()
    return values


@pytest.fixture(params=["edge", "qdrant-local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> VectorStore:
    if request.param == "edge":
        return EdgeVectorStore(tmp_path / "vectors")
    return QdrantClientVectorStore.local(tmp_path / "qdrant")


@pytest.fixture
def index(store: VectorStore) -> Iterator[VectorIndex]:
    vectors = VectorIndex(store, IMAGE, FACE, optimize_after=3, optimize_interval_s=0)
    yield vectors
    vectors.close()


def test_index_keeps_images_and_faces_apart_and_replaces_faces_per_media(
    index: VectorIndex,
) -> None:
    for media in (1, 2, 3):
        index.put_image(media, _unit(media, 8))
    index.put_image(1, _unit(1, 8))  # an idempotent re-upsert
    hits = index.similar_images(_unit(1, 8), 10, None, exclude_media=1)
    assert sorted(int(h.payload["media_store_id"]) for h in hits) == [2, 3]
    index.replace_faces(1, [("00000000-0000-4000-8000-000000000001", _unit(9, 4)),
                            ("00000000-0000-4000-8000-000000000002", _unit(8, 4))])  # fmt: skip
    index.replace_faces(1, [("00000000-0000-4000-8000-000000000003", _unit(7, 4))])
    faces = index.similar_faces(_unit(7, 4), 10, None)
    assert [h.id for h in faces] == ["00000000-0000-4000-8000-000000000003"]
    assert faces[0].payload["face_id"] == faces[0].id
    assert faces[0].payload["model"] == "face-model"
    index.delete_media(1)
    assert index.image_vector(1) is None
    assert index.similar_faces(_unit(7, 4), 10, None) == []


def test_optimize_runs_in_the_background_once_enough_vectors_accumulated(
    index: VectorIndex,
) -> None:
    index.put_image(1, _unit(1, 8))
    index.put_image(2, _unit(2, 8))
    assert index.optimize_runs == 0
    index.put_image(3, _unit(3, 8))  # the third upsert crosses optimize_after=3
    index.wait_maintenance(30)
    assert index.optimize_runs == 1
    assert len(index.similar_images(_unit(1, 8), 5, None, exclude_media=1)) == 2


def test_optimize_waits_for_its_interval(store: VectorStore) -> None:
    index = VectorIndex(store, IMAGE, FACE, optimize_after=1, optimize_interval_s=3600)
    try:
        for media in range(5):
            index.put_image(media, _unit(media, 8))
        index.wait_maintenance(5)
        assert index.optimize_runs == 0  # the interval starts at open: no optimise storm
    finally:
        index.close()


def test_resource_factory_opens_the_embedded_store_in_the_data_dir(tmp_path: Path) -> None:
    index = open_vector_index(Settings(home=tmp_path, log_json=False))
    try:
        assert isinstance(index.store, EdgeVectorStore)
        assert (index.image.name, index.image.dim) == ("efficientnet-lite0", 1280)
        assert (index.face.name, index.face.dim) == ("sface", 128)
        assert (tmp_path / "vectors").is_dir()
    finally:
        index.close()


def test_onnx_embedder_identity_needs_its_dimension() -> None:
    with pytest.raises(ValueError, match="IMAGE_EMBEDDER_DIM"):
        identity.image_model(ModelSettings(image_embedder="onnx"))
    with pytest.raises(ValueError, match="unknown image embedder"):
        identity.image_model(ModelSettings(image_embedder="resnet"))


def test_model_settings_come_from_inference_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERENCE_FACE_MIN_SCORE", "0.8")
    monkeypatch.setenv("INFERENCE_IMAGE_EMBEDDER", "onnx")
    monkeypatch.setenv("INFERENCE_IMAGE_EMBEDDER_DIM", "512")
    monkeypatch.setenv("INFERENCE_IMAGE_EMBEDDER_NAME", "clip-b32")
    settings = ModelSettings()
    assert settings.face_min_score == 0.8
    assert identity.image_model(settings) == identity.ModelIdentity("clip-b32", "1", 512)


@pytest.mark.parametrize(
    ("word", "label", "expected"),
    [
        ("coffee", "coffee mug", True),
        ("coffee", "coffeepot", True),
        ("cup", "tea cup", True),
        ("cat", "tabby cat", True),
        ("cats", "tabby cat", True),
        ("cat", "catamaran", False),
        ("cup", "cupboard", False),
        ("dog", "hotdog", False),
        ("short", "German short-haired pointer", True),
    ],
)
def test_label_words_match_whole_words(word: str, label: str, expected: bool) -> None:
    assert word_matches(word, label) is expected


def test_search_words_are_lowercase_and_unique() -> None:
    assert search_words("Coffee, CUP coffee!") == ["coffee", "cup"]
    with pytest.raises(Exception, match="at least one word"):
        search_words("  ,;  ")


def _face(**changes: Any) -> dict[str, Any]:
    face: dict[str, Any] = {
        "bbox": {"x": 1, "y": 2, "width": 30, "height": 40},
        "landmarks": [[1.0, 2.0]] * 5, "confidence": 0.9, "embedding": _unit(1, 4),
    }  # fmt: skip
    face.update(changes)
    return face


@pytest.mark.parametrize(
    ("face", "message"),
    [
        (_face(embedding=[0.0] * 4), "zero vector"),
        (_face(embedding=[1.0, math.inf, 0.0, 0.0]), "NaN or infinite"),
        (_face(embedding=["a", 1, 2, 3]), "only numbers"),
        (_face(landmarks=[[1, 2]] * 4), "5 [x, y] points"),
        (_face(confidence=1.5), "within [0, 1]"),
        (_face(bbox={"x": 1, "y": 2, "width": 3}), "missing key 'height'"),
        (_face(bbox={"x": True, "y": 2, "width": 3, "height": 3}), "bbox.x must be an integer"),
    ],
)
def test_face_results_are_validated(face: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidResult, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate.faces({"faces": [face]}, dim=4)


def test_a_valid_embedding_is_renormalised() -> None:
    values = validate.embedding([3.0, 4.0], 2, "e")
    assert values == pytest.approx([0.6, 0.8])
