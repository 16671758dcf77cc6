"""Any ONNX image encoder (e.g. a CLIP/SigLIP vision tower) given by file path.

No package ships CLIP weights, so this backend is never the default: an operator points it at a
file they provide. The output dimension is read from the model itself, so the vector store can
create a collection of the right size without being told.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from medianest.inference.ml.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Embedding,
    Model,
    RGBImage,
    l2_normalize,
    resize_center_crop,
    to_normalized_chw,
)


class OnnxImageEmbedder(Model[RGBImage, Embedding]):
    """Runs an NCHW float32 image encoder with onnxruntime on CPU; outputs unit vectors.

    Preprocessing: shorter side to ``resize_to`` (default ``input_size``, CLIP style), centre
    crop ``input_size``, [0, 1], then ``mean``/``std`` (pass CLIP's values for CLIP models).
    """

    def __init__(
        self,
        path: str | Path,
        input_size: int = 224,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        name: str = "onnx-image",
        version: str = "1",
        resize_to: int | None = None,
        output_name: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.input_size = input_size
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.name = name
        self.version = version
        self.resize_to = resize_to or input_size
        self.output_name = output_name
        self.num_threads = num_threads
        self._session: ort.InferenceSession | None = None
        self._input_name = ""
        self._fixed_batch: int | None = None

    def _load(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX image model not found: {self.path}")
        options = ort.SessionOptions()
        if self.num_threads:
            options.intra_op_num_threads = self.num_threads
        session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        model_input = session.get_inputs()[0]
        self._input_name = model_input.name
        batch_dim = model_input.shape[0]
        self._fixed_batch = batch_dim if isinstance(batch_dim, int) else None
        self.output_name = self.output_name or session.get_outputs()[0].name
        self._session = session
        self.dim = self._infer_dim(session)

    def _infer_dim(self, session: ort.InferenceSession) -> int:
        """Static last axis when declared; otherwise run one blank image to measure it."""
        output = next(o for o in session.get_outputs() if o.name == self.output_name)
        last = output.shape[-1] if output.shape else None
        if isinstance(last, int) and last > 0:
            return last
        blank = np.zeros((1, 3, self.input_size, self.input_size), dtype=np.float32)
        return int(self._run(blank).reshape(1, -1).shape[1])

    def predict(self, batch: Sequence[RGBImage]) -> list[Embedding]:
        if not batch:
            return []
        self.load()
        x = np.stack([self._preprocess(img) for img in batch])
        if self._fixed_batch == 1:
            raw = np.vstack([self._run(x[i : i + 1]).reshape(1, -1) for i in range(len(x))])
        else:
            raw = self._run(x).reshape(len(x), -1)
        return list(l2_normalize(raw))

    def embed(self, batch: Sequence[RGBImage]) -> list[Embedding]:
        """Same as :meth:`predict`; the name every image embedder shares."""
        return self.predict(batch)

    def _preprocess(self, image: RGBImage) -> npt.NDArray[np.float32]:
        square = resize_center_crop(image, self.resize_to, self.input_size)
        return to_normalized_chw(square, self.mean, self.std)

    def _run(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        assert self._session is not None
        assert self.output_name is not None
        (out,) = self._session.run([self.output_name], {self._input_name: x})
        return np.asarray(out, dtype=np.float32)
