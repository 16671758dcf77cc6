"""The real shipped models on real photos (skimage, matplotlib) and on images made here.

Models load once per module; the whole module takes a few seconds on 2 cores.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import onnx
import pytest
import skimage.data
from matplotlib import cbook
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

from medianest.inference.ml import InvalidImageError, ModelRegistry, load_image
from medianest.inference.ml.base import IMAGENET_MEAN, IMAGENET_STD, RGBImage
from medianest.inference.ml.faces import Face, SFaceEmbedder, YuNetFaceDetector
from medianest.inference.ml.image import EfficientNetLite0, imagenet_labels
from medianest.inference.ml.registry import UnknownModelError

pytestmark = [pytest.mark.inference]

CAT_LABELS = {"tabby cat", "tiger cat", "Persian cat", "Siamese cat", "Egyptian Mau"}


# -- images ---------------------------------------------------------------------------------


def _sample(name: str) -> RGBImage:
    """A photo shipped with scikit-image (its loaders are untyped, hence getattr)."""
    return np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)


def _jpeg(image: RGBImage, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def _recompressed(image: RGBImage, quality: int = 40) -> RGBImage:
    return load_image(_jpeg(image, quality))


def _resized(image: RGBImage, factor: float) -> RGBImage:
    pil = Image.fromarray(image)
    size = (round(pil.width * factor), round(pil.height * factor))
    return np.asarray(pil.resize(size, Image.Resampling.LANCZOS))


def _flipped(image: RGBImage) -> RGBImage:
    return np.ascontiguousarray(image[:, ::-1])


@pytest.fixture(scope="module")
def astronaut() -> RGBImage:
    return _sample("astronaut")


@pytest.fixture(scope="module")
def grace_hopper() -> RGBImage:
    return load_image(Path(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))


def _gradient() -> RGBImage:
    x = np.linspace(0, 255, 640, dtype=np.float32)
    y = np.linspace(0, 255, 480, dtype=np.float32)[:, None]
    return np.stack(
        [
            np.broadcast_to(x, (480, 640)),
            np.broadcast_to(y, (480, 640)),
            np.full((480, 640), 128.0),
        ],
        axis=-1,
    ).astype(np.uint8)


def _shapes() -> RGBImage:
    img = Image.new("RGB", (640, 480), (30, 90, 160))
    draw = ImageDraw.Draw(img)
    draw.ellipse((100, 80, 300, 280), fill=(240, 200, 40))
    draw.rectangle((350, 200, 600, 420), fill=(200, 30, 60))
    draw.polygon([(60, 440), (200, 300), (320, 460)], fill=(20, 180, 90))
    return np.asarray(img)


def _noise() -> RGBImage:
    return np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)


# -- models (loaded once per module) --------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> YuNetFaceDetector:
    model = YuNetFaceDetector()
    model.load()
    return model


@pytest.fixture(scope="module")
def face_embedder() -> SFaceEmbedder:
    model = SFaceEmbedder()
    model.load()
    return model


@pytest.fixture(scope="module")
def effnet() -> EfficientNetLite0:
    model = EfficientNetLite0()
    model.load()
    return model


def _only_face(detector: YuNetFaceDetector, image: RGBImage) -> Face:
    faces = detector.detect(image)
    assert len(faces) == 1, faces
    return faces[0]


def _face_vector(
    detector: YuNetFaceDetector, embedder: SFaceEmbedder, image: RGBImage
) -> npt.NDArray[np.float32]:
    (vector,) = embedder.embed(image, [_only_face(detector, image)])
    return vector


# -- image decoding -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\0" * 64])
def test_undecodable_bytes_raise_invalid_image(data: bytes) -> None:
    with pytest.raises(InvalidImageError):
        load_image(data)


def test_truncated_jpeg_raises_invalid_image(astronaut: RGBImage) -> None:
    data = _jpeg(astronaut)
    with pytest.raises(InvalidImageError):
        load_image(data[: len(data) // 2])


def test_transparent_png_is_flattened_to_rgb() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (8, 6), (0, 0, 0, 0)).save(buf, "PNG")
    image = load_image(buf.getvalue())
    assert image.shape == (6, 8, 3)
    assert image.dtype == np.uint8
    assert (image == 255).all()


# -- faces ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_gradient, _shapes, _noise], ids=["gradient", "shapes", "noise"])
def test_images_without_people_yield_no_faces(
    detector: YuNetFaceDetector, make: Callable[[], RGBImage]
) -> None:
    assert detector.detect(make()) == []


def test_astronaut_has_one_face_around_her_head(
    detector: YuNetFaceDetector, astronaut: RGBImage
) -> None:
    face = _only_face(detector, astronaut)
    box = face.bbox
    assert 150 <= box["x"] <= 210
    assert 40 <= box["y"] <= 90
    assert 70 <= box["width"] <= 130
    assert 80 <= box["height"] <= 150
    assert face.confidence >= 0.6
    assert len(face.landmarks) == 5
    assert all(box["x"] <= x <= box["x"] + box["width"] for x, _ in face.landmarks)


def test_grace_hopper_has_one_face_inside_the_image(
    detector: YuNetFaceDetector, grace_hopper: RGBImage
) -> None:
    box = _only_face(detector, grace_hopper).bbox
    height, width = grace_hopper.shape[:2]
    assert 100 <= box["width"] <= 260
    assert 120 <= box["height"] <= 300
    assert box["x"] + box["width"] <= width
    assert box["y"] + box["height"] <= height
    assert all(isinstance(v, int) for v in box.values())


def test_large_image_is_detected_downscaled_but_reported_in_original_pixels(
    detector: YuNetFaceDetector, grace_hopper: RGBImage
) -> None:
    small = _only_face(detector, grace_hopper).bbox
    big = _only_face(detector, _resized(grace_hopper, 3.0)).bbox  # 1536x1800 > max_side 1280
    for key in ("x", "y", "width", "height"):
        assert abs(big[key] - 3 * small[key]) <= 0.08 * 3 * small["width"], key


def test_faces_smaller_than_min_face_size_are_dropped(astronaut: RGBImage) -> None:
    assert YuNetFaceDetector(min_face_size=200).detect(astronaut) == []


def test_exif_rotated_photo_reports_bbox_in_displayed_orientation(
    detector: YuNetFaceDetector, grace_hopper: RGBImage
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored pixels must be turned 90° clockwise to display upright
    data = _jpeg(np.ascontiguousarray(np.rot90(grace_hopper, k=1)), quality=95, exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.size == (grace_hopper.shape[0], grace_hopper.shape[1])  # stored sideways
    displayed = load_image(data)
    assert displayed.shape == grace_hopper.shape
    upright, rotated = _only_face(detector, grace_hopper).bbox, _only_face(detector, displayed).bbox
    for key in ("x", "y", "width", "height"):
        assert abs(upright[key] - rotated[key]) <= 6, key


def test_detector_batch_equals_single_calls(
    detector: YuNetFaceDetector, astronaut: RGBImage, grace_hopper: RGBImage
) -> None:
    images = [astronaut, _shapes(), grace_hopper]
    assert detector.predict(images) == [detector.detect(img) for img in images]


def test_face_embeddings_are_unit_length_128d(
    detector: YuNetFaceDetector, face_embedder: SFaceEmbedder, astronaut: RGBImage
) -> None:
    vector = _face_vector(detector, face_embedder, astronaut)
    assert vector.shape == (128,)
    assert vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "augment",
    [_flipped, lambda img: _resized(img, 0.6), _recompressed],
    ids=["flipped", "resized", "jpeg-recompressed"],
)
def test_same_person_is_nearer_than_another_person(
    detector: YuNetFaceDetector,
    face_embedder: SFaceEmbedder,
    astronaut: RGBImage,
    grace_hopper: RGBImage,
    augment: Callable[[RGBImage], RGBImage],
) -> None:
    original = _face_vector(detector, face_embedder, astronaut)
    copy = _face_vector(detector, face_embedder, augment(astronaut))
    other = _face_vector(detector, face_embedder, grace_hopper)
    same, different = float(original @ copy), float(original @ other)
    assert same > different
    assert same >= SFaceEmbedder.same_person_threshold > different


def test_face_restored_from_dict_embeds_like_the_detected_one(
    detector: YuNetFaceDetector, face_embedder: SFaceEmbedder, grace_hopper: RGBImage
) -> None:
    face = _only_face(detector, grace_hopper)
    restored = Face.from_dict(face.to_dict())
    (a,), (b,) = (
        face_embedder.embed(grace_hopper, [face]),
        face_embedder.embed(grace_hopper, [restored]),
    )
    assert float(a @ b) > 0.999


# -- image embedding and labels -------------------------------------------------------------


def test_imagenet_labels_are_the_1000_classes_in_order() -> None:
    labels = imagenet_labels()
    assert len(labels) == len(set(labels)) == 1000
    assert (labels[0], labels[281], labels[504], labels[999]) == (
        "tench",
        "tabby cat",
        "coffee mug",
        "toilet paper",
    )


@pytest.mark.slow
def test_image_embedding_is_unit_length_1280d(effnet: EfficientNetLite0) -> None:
    (result,) = effnet.predict([_sample("coffee")])
    assert result.embedding.shape == (1280,)
    assert result.embedding.dtype == np.float32
    assert np.linalg.norm(result.embedding) == pytest.approx(1.0, abs=1e-5)
    assert sum(label.probability for label in result.labels) <= 1.0 + 1e-6


@pytest.mark.slow
def test_coffee_photo_is_labelled_as_coffee(effnet: EfficientNetLite0) -> None:
    (result,) = effnet.predict([_sample("coffee")])
    top = [label.label for label in result.labels[:3]]
    assert any(word in name for name in top for word in ("coffee", "cup", "espresso")), top


@pytest.mark.slow
def test_cat_photo_is_labelled_as_a_cat(effnet: EfficientNetLite0) -> None:
    (result,) = effnet.predict([_sample("chelsea")])
    top = [label.label for label in result.labels[:3]]
    assert CAT_LABELS & set(top), top


@pytest.mark.slow
def test_recompressed_copy_is_nearer_than_unrelated_images(
    effnet: EfficientNetLite0, astronaut: RGBImage
) -> None:
    coffee = _sample("coffee")
    unrelated = [
        _sample("chelsea"),
        _sample("rocket"),
        astronaut,
        _shapes(),
    ]
    vectors = effnet.embed([coffee, _recompressed(coffee, 30), *unrelated])
    similarities = [float(vectors[0] @ v) for v in vectors[1:]]
    assert similarities[0] > 0.75
    assert similarities[0] > max(similarities[1:])


@pytest.mark.slow
def test_batch_gives_the_same_results_as_single_images(
    effnet: EfficientNetLite0, astronaut: RGBImage, grace_hopper: RGBImage
) -> None:
    images = [astronaut, grace_hopper, _sample("coffee"), _gradient()]
    batched = effnet.predict(images)
    for image, together in zip(images, batched, strict=True):
        (alone,) = effnet.predict([image])
        np.testing.assert_allclose(together.embedding, alone.embedding, atol=1e-4)
        assert together.labels[0].label == alone.labels[0].label


# -- registry and the ONNX backend ----------------------------------------------------------


def _tiny_encoder(path: Path, weights: npt.NDArray[np.float32], static_dim: bool) -> Path:
    """Global average pool + matmul to 16-d: a stand-in for a CLIP vision tower."""
    out_shape: list[str | int] = ["N", weights.shape[1]] if static_dim else ["N", "D"]
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["pixels"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["embedding"]),
        ],
        "tiny_encoder",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(weights, name="w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _expected_embedding(
    image: RGBImage, weights: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    scaled = np.asarray(Image.fromarray(image).resize((32, 32)), dtype=np.float32) / 255.0
    channel_means = ((scaled - IMAGENET_MEAN) / IMAGENET_STD).mean(axis=(0, 1))
    vector = channel_means @ weights
    unit: npt.NDArray[np.float32] = (vector / np.linalg.norm(vector)).astype(np.float32)
    return unit


@pytest.mark.parametrize("static_dim", [True, False], ids=["declared-dim", "measured-dim"])
def test_onnx_image_embedder_replaces_default_and_records_its_dimension(
    tmp_path: Path, static_dim: bool
) -> None:
    weights = np.random.default_rng(1).normal(size=(3, 16)).astype(np.float32)
    path = _tiny_encoder(tmp_path / "tiny.onnx", weights, static_dim)
    settings = {
        "image_embedder": "onnx",
        "path": str(path),
        "input_size": 32,
        "name": "clip-vit-b32",
        "version": "test-1",
    }
    registry = ModelRegistry()
    embedder = registry.image_embedder(settings)
    assert registry.get("image_embedder", settings) is cast(object, embedder)
    assert (embedder.name, embedder.version, embedder.dim) == ("clip-vit-b32", "test-1", 16)
    assert registry.dimension("image_embedder") == 16
    square = np.asarray(Image.fromarray(_shapes()).resize((48, 48)))
    images = [square, _noise()[:48, :48]]
    vectors = embedder.embed(images)
    assert [v.shape for v in vectors] == [(16,), (16,)]
    np.testing.assert_allclose(vectors[0], _expected_embedding(square, weights), atol=0.02)
    np.testing.assert_allclose(embedder.embed(images[1:])[0], vectors[1], atol=1e-6)


def test_registry_rejects_unknown_backends() -> None:
    with pytest.raises(UnknownModelError):
        ModelRegistry().get("image_embedder", {"image_embedder": "clip-from-the-internet"})
    with pytest.raises(UnknownModelError):
        ModelRegistry().get("speech_to_text")


def test_registry_reuses_one_loaded_instance_per_settings() -> None:
    registry = ModelRegistry()
    first = registry.get("face_detector")
    assert first.loaded
    assert registry.get("face_detector") is first
    assert registry.get("face_detector", min_score=0.8) is not first
    assert registry.info()["face_detector"].name == "yunet"
