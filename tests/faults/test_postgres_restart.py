"""PostgreSQL restarted while requests and workers run.

The whole system (auth, media store, inference API, one ``medianest worker`` running the real
models) runs on a private PostgreSQL cluster. One thread uploads distinct photos, another reads
from all three services, before, during and after ``pg_ctl stop -m fast`` + ``start``. Proven:

- every request returns (client timeout, so a hang fails) with a success or a 503 carrying
  ``Retry-After``: never another 5xx, never a dropped connection;
- during the outage each service answers 503 + ``Retry-After``;
- afterwards every service recovers by itself (no process is restarted);
- once the client retried its 503 uploads, every photo is stored exactly once, appears once in
  the change feed, and gets exactly one job per pipeline task, all completed.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.faults.postgres import PrivatePostgres, private_postgres
from tests.inference.cluster import System, running_system
from tests.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATABASES = {"AUTH": "auth", "MEDIA_STORE": "store", "INFERENCE": "inference"}
PIPELINE = ("face_embedding", "image_embedding")  # the inference service's default pipeline
OUTAGE_S = 6.0
CLIENT_TIMEOUT_S = 30.0  # a request that hangs during the outage fails the test
RECOVERY_S = 60.0  # correctness deadline, not a speed requirement
ANALYSIS_S = 240.0
UPLOADS_BEFORE = 4
UPLOADS_AFTER = 5
BUSY_WAIT_S = 20.0


def photo(index: int) -> bytes:
    """A small JPEG, different for every index."""
    rng = np.random.default_rng(index)
    pixels = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).resize((128, 96), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Outcome:
    what: str
    phase: str
    status: int | None = None
    retry_after: str | None = None
    error: str | None = None
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def clean_503(self) -> bool:
        return self.status == 503 and bool(self.retry_after)


@dataclass
class Load:
    """Shared state of the load threads: the current phase and every request's outcome."""

    phase: str = "before"
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: list[Outcome] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, in upload order
    upload_status: dict[str, list[int | None]] = field(default_factory=dict)

    def call(self, what: str, request: Callable[[], httpx.Response]) -> Outcome:
        outcome = Outcome(what, self.phase)
        try:
            resp = request()
            outcome.status, outcome.body = resp.status_code, resp.text[:300]
            outcome.retry_after = resp.headers.get("retry-after")
        except httpx.HTTPError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def count(self, phase: str, what: str, kind: str = "ok") -> int:
        """How many ``what`` requests started in ``phase`` were ``ok`` (or ``clean_503``)."""
        with self.lock:
            return sum(
                1 for o in self.outcomes if o.phase == phase and o.what == what and getattr(o, kind)
            )


def post_photo(system: System, client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post(
        f"{system.urls['media_store']}/entity/", headers=system.headers,
        data={"is_collection": "false", "label": name},
        files={"image": (name, data, "image/jpeg")},
    )  # fmt: skip


def uploader(system: System, load: Load) -> None:
    with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
        index = 0
        while not load.stop.is_set():
            name, data = f"photo-{index:03d}.jpg", photo(index)
            load.uploads[name] = data
            outcome = load.call("upload", partial(post_photo, system, client, name, data))
            load.upload_status.setdefault(name, []).append(outcome.status)
            index += 1
            time.sleep(0.2)


def reader(system: System, load: Load) -> None:
    reads = {
        "store list": f"{system.urls['media_store']}/entity/?page_size=5",
        "job list": f"{system.urls['inference']}/job/?page_size=5",
        "auth me": f"{system.urls['authentication']}/users/me",
    }
    with httpx.Client(timeout=CLIENT_TIMEOUT_S, headers=system.headers) as client:
        while not load.stop.is_set():
            for what, url in reads.items():
                load.call(what, partial(client.get, url))
            time.sleep(0.2)


def worker_busy(system: System, deadline: float) -> bool:
    """Wait until a job is being processed (True), or give up at ``deadline`` (False)."""
    url = f"{system.urls['inference']}/job/"
    params: dict[str, str | int] = {"status": "processing", "page_size": 1}
    while time.monotonic() < deadline:
        resp = httpx.get(url, params=params, headers=system.headers, timeout=CLIENT_TIMEOUT_S)
        if resp.status_code == 200 and resp.json()["items"]:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def cluster() -> Iterator[PrivatePostgres]:
    with private_postgres(tuple(DATABASES.values())) as pg:
        yield pg


@pytest.fixture
def system(
    cluster: PrivatePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[System]:
    urls = {f"{svc}_DATABASE_URL": cluster.url_for(db) for svc, db in DATABASES.items()}
    # the bootstrap (accounts, admin token) runs in this process and reads AUTH_DATABASE_URL
    monkeypatch.setenv("AUTH_DATABASE_URL", urls["AUTH_DATABASE_URL"])
    with running_system(tmp_path / "home", workers=1, extra_env=urls) as running:
        yield running


def test_postgres_restart_under_load_fails_cleanly_recovers_and_loses_nothing(
    cluster: PrivatePostgres, system: System
) -> None:
    def logs() -> str:
        names = ("authentication", "media_store", "inference", "worker")
        return "\n".join(f"--- {n}\n{system.log(n)}" for n in names) + f"\n--- pg\n{cluster.log()}"

    load = Load()
    busy = False
    threads = [
        threading.Thread(target=uploader, args=(system, load), daemon=True),
        threading.Thread(target=reader, args=(system, load), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: load.count("before", "upload") >= UPLOADS_BEFORE,
                 "uploads before the outage", RECOVERY_S, logs)  # fmt: skip
        # Best effort: stop the database while the worker has a job in hand.
        busy = worker_busy(system, deadline=time.monotonic() + BUSY_WAIT_S)

        load.phase = "stopping"
        cluster.stop("fast")
        load.phase = "outage"
        time.sleep(OUTAGE_S)
        load.phase = "recovering"
        cluster.start()

        for what in ("store list", "job list", "auth me", "upload"):
            wait_until(partial(load.count, "recovering", what),
                     f"{what} to recover", RECOVERY_S, logs)  # fmt: skip
        load.phase = "after"
        wait_until(lambda: load.count("after", "upload") >= UPLOADS_AFTER,
                 "uploads after the outage", RECOVERY_S, logs)  # fmt: skip
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT_S + 5)

    summary = Counter((o.phase, o.what, o.status or o.error) for o in load.outcomes)
    print("\n".join(f"{k}: {n}" for k, n in sorted(summary.items(), key=str)))  # shown on failure
    # Every request returned: a success or a clean 503, never a hang, a reset or another 5xx.
    bad = [o for o in load.outcomes if not (o.ok or o.clean_503)]
    assert not bad, f"{len(bad)} unclean answers, e.g. {bad[:5]}\n{logs()}"
    for what in ("store list", "job list", "auth me", "upload"):
        assert load.count("outage", what, "clean_503") > 0, f"no 503 for {what}"
    assert all(proc.poll() is None for proc in system.procs), f"a process exited\n{logs()}"

    # The client retries the uploads that got a 503 (200 if one had committed after all).
    with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
        for name, statuses in load.upload_status.items():
            if statuses[-1] == 503:
                resp = post_photo(system, client, name, load.uploads[name])
                assert resp.status_code in (200, 201), f"retry of {name}: {resp.text}\n{logs()}"
        retried = sum(1 for statuses in load.upload_status.values() if statuses[-1] == 503)
        assert retried > 0  # the outage did hit uploads

        store = system.urls["media_store"]
        entities: list[dict[str, Any]] = []
        page = 1
        while True:
            resp = client.get(f"{store}/entity/", params={"page": page, "page_size": 100})
            assert resp.status_code == 200, resp.text
            entities += resp.json()["items"]
            if not resp.json()["pagination"]["has_next"]:
                break
            page += 1
        changes = client.get(f"{store}/changes", params={"since": 0, "limit": 1000}).json()

    # Every photo exactly once in the store and once in the change feed.
    sent = {hashlib.sha256(data).hexdigest() for data in load.uploads.values()}
    assert len(sent) == len(load.uploads)
    stored = Counter(e["sha256"] for e in entities)
    assert set(stored) == sent, f"missing {sent - set(stored)}, unexpected {set(stored) - sent}"
    assert max(stored.values()) == 1, f"duplicates: {[s for s, n in stored.items() if n > 1]}"
    created = Counter(c["entity_id"] for c in changes["items"] if c["op"] == "created")
    assert created == Counter(e["id"] for e in entities)

    # Exactly one job per pipeline task for every photo, and all of them complete.
    ids = [e["id"] for e in entities]
    attempts: dict[str, int] = {}
    with httpx.Client(
        base_url=system.urls["inference"], headers=system.headers, timeout=CLIENT_TIMEOUT_S
    ) as api:

        def all_analysed() -> bool:
            for media_id in ids:
                resp = api.get("/job/", params={"media_store_id": media_id, "page_size": 100})
                assert resp.status_code == 200, resp.text
                jobs = resp.json()["items"]
                attempts.update((j["job_id"], j["attempts"]) for j in jobs)
                tasks = Counter(j["task_type"] for j in jobs)
                assert all(tasks[t] <= 1 for t in PIPELINE), f"duplicate jobs: {jobs}"
                failed = [j for j in jobs if j["status"] in ("error", "cancelled")]
                assert not failed, f"jobs failed: {failed}\n{logs()}"
                if sorted(tasks.elements()) != sorted(PIPELINE):
                    return False
                if any(j["status"] != "completed" for j in jobs):
                    return False
            return True

        wait_until(all_analysed, "every photo's jobs to complete", ANALYSIS_S, logs)
    tries = dict(Counter(attempts.values()))
    print(f"{len(ids)} photos; worker busy when stopped: {busy}; jobs by attempts: {tries}")
    assert all(proc.poll() is None for proc in system.procs), f"a process exited\n{logs()}"
    assert "Traceback" not in (system.home / "worker.log").read_text(), logs()
