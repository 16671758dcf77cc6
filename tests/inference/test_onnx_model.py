"""EfficientNet-Lite0 through ONNX Runtime (the default) against the torch model it is exported
from: same embeddings (cosine >= 0.999) and same top-1 labels on photos that packages ship."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medianest.inference.config import ModelSettings
from medianest.inference.ml import efficientnet_onnx
from medianest.inference.ml.base import RGBImage
from medianest.inference.ml.efficientnet_onnx import EfficientNetLite0Onnx, default_threads
from medianest.inference.ml.image import EfficientNetLite0
from medianest.inference.ml.registry import ModelRegistry
from medianest.inference.ml.tasks import MlTasks

pytestmark = [pytest.mark.slow]


def _photos() -> list[RGBImage]:
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    photos = [getattr(data, n)() for n in ("astronaut", "coffee", "chelsea", "rocket")]
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    photos.append(np.asarray(Image.open(str(path)).convert("RGB")))
    return [np.ascontiguousarray(p[..., :3]) for p in photos]


@pytest.fixture(scope="module")
def both() -> tuple[EfficientNetLite0Onnx, EfficientNetLite0]:
    return EfficientNetLite0Onnx(), EfficientNetLite0()


def test_onnx_matches_torch_embeddings_and_labels(
    both: tuple[EfficientNetLite0Onnx, EfficientNetLite0],
) -> None:
    onnx_model, torch_model = both
    photos = _photos()
    for fast, reference in zip(
        onnx_model.predict(photos), torch_model.predict(photos), strict=True
    ):
        assert float(fast.embedding @ reference.embedding) >= 0.999
        assert fast.labels[0].label == reference.labels[0].label
        assert fast.labels[0].probability == pytest.approx(
            reference.labels[0].probability, abs=1e-3
        )


def test_batched_run_equals_single_runs(
    both: tuple[EfficientNetLite0Onnx, EfficientNetLite0],
) -> None:
    model = both[0]
    photos = _photos()
    for together, image in zip(model.predict(photos), photos, strict=True):
        (alone,) = model.predict([image])
        np.testing.assert_allclose(together.embedding, alone.embedding, atol=1e-4)


def test_first_start_exports_into_the_model_dir(tmp_path: Path) -> None:
    """What a fresh install does (in its own process, as a worker would): no graph yet."""
    code = (
        "from medianest.inference.ml.efficientnet_onnx import EfficientNetLite0Onnx\n"
        f"model = EfficientNetLite0Onnx(cache_dir={str(tmp_path)!r}); model.load()\n"
        "print(model.path)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    exported = Path(done.stdout.strip())
    assert exported.parent == tmp_path
    assert exported.name == efficientnet_onnx.onnx_path(tmp_path).name
    assert not list(tmp_path.glob("*.partial"))
    again = EfficientNetLite0Onnx(cache_dir=str(tmp_path))  # the next start only opens it
    again.load()
    assert again.path == exported


def test_default_backend_is_onnx_and_serves_labels_and_embeddings_with_one_instance() -> None:
    tasks = MlTasks(ModelSettings(), ModelRegistry())
    assert isinstance(tasks.labeler(), EfficientNetLite0Onnx)
    assert tasks.labeler() is tasks.image_embedder()
    torch_tasks = MlTasks(ModelSettings(image_embedder="efficientnet-lite0-torch"), ModelRegistry())
    assert isinstance(torch_tasks.image_embedder(), EfficientNetLite0)


def test_threads_are_shared_out_among_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    monkeypatch.setenv("MEDIANEST_WORKER_CONCURRENCY", "4")
    assert default_threads() == 2
    monkeypatch.setenv("MEDIANEST_WORKER_CONCURRENCY", "16")
    assert default_threads() == 1
