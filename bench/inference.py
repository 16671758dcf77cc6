"""Inference throughput: images/s from upload to every job completed, system vs bare model loop.

* system: the three services and ``medianest worker --concurrency K`` as real processes (see
  ``tests/inference/cluster.py``). N photos are uploaded to the media store over HTTP (4 clients);
  the inference API follows the store's change feed and queues ``face_embedding`` and
  ``image_embedding`` for each; throughput = N / (time from the first upload to the last job
  completed). The models are warmed up by two uploads before the clock starts.
* bare: K processes running the same models on the same JPEGs (decode, YuNet, SFace per face,
  EfficientNet-Lite0 in batches), with no HTTP, store, queue or database. Measured with the
  default backend (EfficientNet-Lite0 through ONNX Runtime) and with today's loop before it
  (the torch backend), in the same run: their ratio is the model speed-up (goal >= 1.5).

Both use INFERENCE_TORCH_THREADS = max(1, cpus // K). Prints both and their ratio (goal >= 0.8).
The system figure includes the media store's own ingest work (hashing, exiftool, preview,
pHash) on the same CPUs, which the bare loop does not do; so the bench also measures the uploads
alone and prints the ceiling 1 / (1/bare + 1/ingest) that upload-to-analysed can reach here.
Similar-image search latency is measured by ``bench/vector_search.py``.
Usage: ``python bench/inference.py [--n 40] [--workers K (default: CPU count)]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Keep bench/ off the import path so its scripts never shadow a library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from bench.report import record  # noqa: E402
from tests.inference import photos  # noqa: E402
from tests.inference.cluster import System, running_system  # noqa: E402

TASKS = ("face_embedding", "image_embedding")
IMAGE_BATCH = 8
DEFAULT = "efficientnet-lite0"  # ONNX Runtime
TODAY = "efficientnet-lite0-torch"  # the loop before ONNX Runtime


def make_images(n: int, seed: int = 7) -> list[bytes]:
    """N distinct photo-like JPEGs (random crops, flips and tints of the sample photos)."""
    rng = np.random.default_rng(seed)
    bases = [photos.astronaut(), photos.grace_hopper(), photos.coffee(), photos.chelsea()]
    out = []
    for i in range(n):
        base = bases[i % len(bases)]
        h, w = base.shape[:2]
        ch, cw = int(h * rng.uniform(0.75, 1.0)), int(w * rng.uniform(0.75, 1.0))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        crop = base[y : y + ch, x : x + cw].astype(np.float32)
        crop *= rng.uniform(0.85, 1.15, size=3).astype(np.float32)
        image = np.clip(crop, 0, 255).astype(np.uint8)
        if rng.random() < 0.5:
            image = photos.flipped(image)
        out.append(photos.jpeg(photos.resized(image, 2.0), 90))  # ~1 MP, like small photos
    return out


# -- bare loop -------------------------------------------------------------------------------


def bare_process(
    images: list[bytes], threads: int, backend: str, ready: Any, go: Any, done: Any
) -> None:
    os.environ["INFERENCE_TORCH_THREADS"] = str(threads)
    os.environ["INFERENCE_IMAGE_EMBEDDER"] = backend
    from medianest.inference.ml.base import load_image
    from medianest.inference.ml.tasks import MlTasks

    tasks = MlTasks()
    detector, embedder, labeler = tasks.detector(), tasks.face_embedder(), tasks.labeler()
    labeler.predict([load_image(images[0])])  # warm up, like the system's warm-up uploads
    ready.release()
    go.wait()
    for start in range(0, len(images), IMAGE_BATCH):
        decoded = [load_image(data) for data in images[start : start + IMAGE_BATCH]]
        for image in decoded:
            embedder.embed(image, detector.detect(image))
        labeler.predict(decoded)
    done.put(time.perf_counter())


def run_bare(images: list[bytes], k: int, threads: int, backend: str = DEFAULT) -> float:
    ctx = mp.get_context("spawn")
    ready, go, done = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    shares = [images[i::k] for i in range(k)]
    procs = [
        ctx.Process(target=bare_process, args=(s, threads, backend, ready, go, done))
        for s in shares
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    finished = max(float(done.get(timeout=600)) for _ in procs)
    for proc in procs:
        proc.join()
    return len(images) / (finished - started)


# -- whole system ----------------------------------------------------------------------------


def completed(api: httpx.Client) -> int:
    counts: dict[str, int] = api.get("/admin/stats").json()["counts"]
    if counts.get("error"):
        raise RuntimeError(f"jobs failed: {api.get('/job/?status=error').json()['items'][:2]}")
    return counts.get("completed", 0)


def wait_completed(api: httpx.Client, target: int, timeout: float = 900) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if completed(api) >= target:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError(f"{target} jobs did not complete")


def upload_all(system: System, images: list[bytes], prefix: str) -> None:
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(4) as pool:
        names = [f"{prefix}-{i}.jpg" for i in range(len(images))]
        list(pool.map(lambda pair: system.upload(client, *pair), zip(names, images, strict=True)))


def cpu_seconds_by_group() -> dict[int, float]:
    """CPU time (user + system) of every live process, summed by process group (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / tick
        totals[group] = totals.get(group, 0.0) + used
    return totals


def cpu_report(system: System, before: dict[int, float], seconds: float) -> str:
    """Cores used per process (each service and the worker started their own session)."""
    after = cpu_seconds_by_group()
    names = ["authentication", "media_store", "inference", "worker"]
    parts = [
        f"{name} {(after.get(p.pid, 0.0) - before.get(p.pid, 0.0)) / seconds:.2f}"
        for name, p in zip(names, system.procs, strict=False)
    ]
    return "cores used: " + ", ".join(parts)


def run_system(images: list[bytes], warmup: list[bytes], k: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {"INFERENCE_TORCH_THREADS": str(threads), "INFERENCE_FOLLOWER_POLL_S": "0.5"}
        with running_system(Path(home), workers=k, extra_env=env) as system:
            api = httpx.Client(base_url=system.urls["inference"], headers=system.headers,
                               timeout=30)  # fmt: skip
            upload_all(system, warmup, "warmup")
            wait_completed(api, len(warmup) * len(TASKS))
            cpu_before = cpu_seconds_by_group()
            started = time.perf_counter()
            upload_all(system, images, "bench")
            uploaded = time.perf_counter()
            finished = wait_completed(api, (len(warmup) + len(images)) * len(TASKS))
            api.close()
            print(f"  uploads took {uploaded - started:.1f} s; all jobs done "
                  f"{finished - uploaded:.1f} s after the last upload", flush=True)  # fmt: skip
            print(f"  {cpu_report(system, cpu_before, finished - started)}", flush=True)
            return len(images) / (finished - started)


def run_ingest_only(images: list[bytes], warmup: list[bytes]) -> float:
    """The store's share: the same uploads with the ML jobs left queued (no worker takes them)."""
    with tempfile.TemporaryDirectory() as home:
        env = {"MEDIANEST_WORKER_TASK_TYPES": "image_info"}
        with running_system(Path(home), workers=1, extra_env=env) as system:
            upload_all(system, warmup, "warmup")
            started = time.perf_counter()
            upload_all(system, images, "bench")
            return len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=40, help="images to analyse")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    k = args.workers
    threads = max(1, (os.cpu_count() or 1) // k)
    images = make_images(args.n + 2)
    warmup, images = images[:2], images[2:]
    print(f"inference bench: {len(images)} images, {k} worker processes, {threads} torch "
          f"thread(s) each, cpus {os.cpu_count()}", flush=True)  # fmt: skip
    # the bare loop runs before and after the system; the better run counts (conservative)
    bare_runs = [run_bare(images, k, threads)]
    today_runs = [run_bare(images, k, threads, TODAY)]
    system = run_system(images, warmup, k, threads)
    bare_runs.append(run_bare(images, k, threads))
    today_runs.append(run_bare(images, k, threads, TODAY))
    bare, today = max(bare_runs), max(today_runs)
    runs = " / ".join(f"{b:.2f}" for b in bare_runs)
    print(f"system (upload -> all jobs completed): {system:6.2f} images/s", flush=True)
    print(f"bare model loop (same models/images):  {bare:6.2f} images/s (runs: {runs})")
    runs = " / ".join(f"{b:.2f}" for b in today_runs)
    print(f"today's loop (torch EfficientNet):     {today:6.2f} images/s (runs: {runs})")
    print(f"bare loop / today's loop: {bare / today:.2f} (goal >= 1.5)")
    print(f"ratio system / bare: {system / bare:.2f} (goal >= 0.80)", flush=True)
    ingest = run_ingest_only(images, warmup)
    ceiling = 1 / (1 / bare + 1 / ingest)
    print(f"media store ingest alone (no ML):     {ingest:6.2f} images/s")
    print(
        f"ceiling when ingest and models share the CPUs: {ceiling:.2f} images/s; "
        f"system / ceiling: {system / ceiling:.2f}"
    )
    record("models: bare loop vs today's (torch) loop", bare, baseline=today, unit="img/s",
           goal=(">=", 1.5), baseline_name="torch loop")  # fmt: skip
    record("inference: upload -> jobs done vs ceiling", system, baseline=ceiling,
           unit="img/s", goal=(">=", 0.9), baseline_name="ingest+bare")  # fmt: skip


if __name__ == "__main__":
    main()
