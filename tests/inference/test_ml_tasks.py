"""The ML task handlers with the real models on real photos (worker side, no API)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from medianest.inference.config import ModelSettings
from medianest.inference.ml.image import EfficientNetLite0
from medianest.inference.ml.registry import ModelRegistry
from medianest.inference.ml.tasks import MlTasks, scale_face
from medianest.inference.results import identity
from medianest.inference.tasks import BadInputError, TaskContext, TaskJob, get_task
from tests.inference import photos
from tests.inference.photos import FakeMedia

pytestmark = [pytest.mark.inference, pytest.mark.slow]


@pytest.fixture(scope="module")
def tasks() -> MlTasks:
    return MlTasks(ModelSettings(), ModelRegistry())


def run(handler: Any, media: FakeMedia, ids: Sequence[int]) -> list[Any]:
    jobs = [TaskJob(job_id=f"job-{i}", task_type="t", media_store_id=i) for i in ids]
    outcomes: list[Any] = handler(jobs, TaskContext(media))
    return outcomes


def test_real_tasks_replace_the_placeholders() -> None:
    for name in ("face_detection", "face_embedding", "image_embedding"):
        task = get_task(name)
        assert task is not None
        assert not getattr(task.handler, "placeholder", False)


def test_static_model_identities_match_the_model_classes() -> None:
    assert (
        EfficientNetLite0.name,
        EfficientNetLite0.version,
        EfficientNetLite0.dim,
    ) == identity.EFFICIENTNET
    from medianest.inference.ml.faces import SFaceEmbedder, YuNetFaceDetector

    assert (SFaceEmbedder.name, SFaceEmbedder.version, SFaceEmbedder.dim) == identity.SFACE
    assert (YuNetFaceDetector.name, YuNetFaceDetector.version) == identity.YUNET


def test_each_face_photo_yields_exactly_its_face_and_the_others_none(tasks: MlTasks) -> None:
    media = FakeMedia()
    images = {1: photos.astronaut(), 2: photos.grace_hopper(), 3: photos.coffee(),
              4: photos.chelsea(), 5: photos.gradient(), 6: photos.noise()}  # fmt: skip
    for media_id, image in images.items():
        media.add(media_id, photos.jpeg(image), image.shape[1], image.shape[0])
    results = run(tasks.face_embedding, media, list(images))
    counts = {i: len(r["faces"]) for i, r in zip(images, results, strict=True)}
    assert counts == {1: 1, 2: 1, 3: 0, 4: 0, 5: 0, 6: 0}
    for result in results[:2]:
        face = result["faces"][0]
        assert len(face["landmarks"]) == 5
        assert 0.6 <= face["confidence"] <= 1
        vector = np.asarray(face["embedding"])
        assert vector.shape == (128,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
        assert result["model"] == "sface"
        assert result["source"] == "preview"


def test_astronaut_face_box_is_where_her_face_is(tasks: MlTasks) -> None:
    media = FakeMedia()
    media.add(1, photos.jpeg(photos.astronaut()), 512, 512)
    (result,) = run(tasks.face_detection, media, [1])
    box = result["faces"][0]["bbox"]
    # her face spans roughly x 170-270, y 60-180 in the 512 px photo
    assert 150 <= box["x"] <= 200
    assert 40 <= box["y"] <= 90
    assert 70 <= box["width"] <= 140
    assert 90 <= box["height"] <= 160
    assert "embedding" not in result["faces"][0]


def test_bbox_is_scaled_to_the_original_when_the_preview_is_smaller(tasks: MlTasks) -> None:
    media = FakeMedia()
    image = photos.astronaut()
    media.add(1, photos.jpeg(image), 512, 512)
    media.add(2, photos.jpeg(image), 2048, 2048)  # the original is 4x the preview
    same, bigger = run(tasks.face_detection, media, [1, 2])
    small_box, big_box = same["faces"][0]["bbox"], bigger["faces"][0]["bbox"]
    for key in ("x", "y", "width", "height"):
        assert big_box[key] == pytest.approx(small_box[key] * 4, abs=4)
    small_eye = same["faces"][0]["landmarks"][0]
    big_eye = bigger["faces"][0]["landmarks"][0]
    assert big_eye == pytest.approx([c * 4 for c in small_eye], abs=1)
    assert bigger["image"] == {"width": 2048, "height": 2048}
    assert bigger["analysed"] == {"width": 512, "height": 512}


def test_scale_face_keeps_the_box_inside_scaled_pixels() -> None:
    face = {"bbox": {"x": 10, "y": 20, "width": 30, "height": 40},
            "landmarks": [[15.0, 25.0]] * 5, "confidence": 0.9}  # fmt: skip
    scaled = scale_face(face, 2.5, 2.0)
    assert scaled["bbox"] == {"x": 25, "y": 40, "width": 75, "height": 80}
    assert scaled["landmarks"][0] == [37.5, 50.0]
    assert scale_face(face, 1.0, 1.0) is face
    clipped = scale_face(face, 2.5, 2.0, bounds=(90, 200))
    assert clipped["bbox"] == {"x": 25, "y": 40, "width": 65, "height": 80}


def test_min_face_size_is_in_original_pixels(tasks: MlTasks) -> None:
    strict = MlTasks(ModelSettings(face_min_size=300), tasks.registry)
    media = FakeMedia()
    media.add(1, photos.jpeg(photos.astronaut()), 512, 512)
    media.add(2, photos.jpeg(photos.astronaut()), 2048, 2048)
    small, big = run(strict.face_detection, media, [1, 2])
    assert small["faces"] == []
    assert len(big["faces"]) == 1


def test_image_jobs_in_hand_run_as_one_batch_forward_pass(
    tasks: MlTasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tasks.labeler()
    assert tasks.image_embedder() is model, "embedding and labels must share one model"
    calls: list[int] = []
    original = model.predict

    def counting(batch: Sequence[Any]) -> Any:
        calls.append(len(batch))
        return original(batch)

    monkeypatch.setattr(model, "predict", counting)
    media = FakeMedia()
    for media_id, image in {1: photos.coffee(), 2: photos.chelsea(), 3: photos.astronaut()}.items():
        media.add(media_id, photos.jpeg(image), image.shape[1], image.shape[0])
    results = run(tasks.image_embedding, media, [1, 2, 3])
    assert calls == [3]
    assert [r["dim"] for r in results] == [1280] * 3
    for result in results:
        assert np.linalg.norm(result["embedding"]) == pytest.approx(1.0, abs=1e-4)
        assert result["model"] == "efficientnet-lite0"
        assert result["label_model"] == "efficientnet-lite0"


def test_coffee_labels_name_the_coffee(tasks: MlTasks) -> None:
    media = FakeMedia()
    media.add(1, photos.jpeg(photos.coffee()))
    (result,) = run(tasks.image_embedding, media, [1])
    names = " ".join(item["label"] for item in result["labels"]).lower()
    assert any(word in names for word in ("espresso", "coffee", "cup"))
    probabilities = [item["probability"] for item in result["labels"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_undecodable_preview_fails_that_job_only_without_retry(tasks: MlTasks) -> None:
    media = FakeMedia()
    media.add(1, b"this is not an image")
    media.add(2, photos.jpeg(photos.coffee()))
    for handler in (tasks.image_embedding, tasks.face_embedding):
        bad, good = run(handler, media, [1, 2])
        assert isinstance(bad, BadInputError)
        assert "cannot decode" in str(bad)
        assert isinstance(good, dict)


def test_media_missing_in_the_store_is_bad_input(tasks: MlTasks) -> None:
    (outcome,) = run(tasks.face_detection, FakeMedia(), [99])
    assert isinstance(outcome, BadInputError)


def test_video_is_analysed_on_its_poster_frame(tasks: MlTasks) -> None:
    media = FakeMedia()
    frame = photos.astronaut()
    media.add(1, photos.jpeg(frame), 1024, 1024, media_type="video")
    faces, image = (
        run(tasks.face_embedding, media, [1])[0],
        run(tasks.image_embedding, media, [1])[0],
    )
    assert faces["source"] == image["source"] == "poster_frame"
    assert faces["media_type"] == "video"
    assert len(faces["faces"]) == 1


def _tiny_onnx(path: Path, dim: int = 16) -> None:
    """A 'vision tower': global average pool then a fixed linear map to ``dim``."""
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(3, dim)).astype(np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["pixels"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", dim])],
        [helper.make_tensor("w", TensorProto.FLOAT, weight.shape, weight.flatten().tolist())],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))


def test_a_configured_onnx_embedder_replaces_the_default_and_labels_still_come(
    tasks: MlTasks, tmp_path: Path
) -> None:
    path = tmp_path / "tiny.onnx"
    _tiny_onnx(path)
    settings = ModelSettings(image_embedder="onnx", image_embedder_path=str(path),
                             image_embedder_name="tiny-clip", image_embedder_version="7",
                             image_embedder_dim=16, image_embedder_input_size=32)  # fmt: skip
    onnx_tasks = MlTasks(settings, tasks.registry)
    media = FakeMedia()
    media.add(1, photos.jpeg(photos.coffee()))
    (result,) = run(onnx_tasks.image_embedding, media, [1])
    assert (result["model"], result["model_version"], result["dim"]) == ("tiny-clip", "7", 16)
    assert len(result["embedding"]) == 16
    assert result["labels"]
    assert identity.image_model(settings) == identity.ModelIdentity("tiny-clip", "7", 16)
