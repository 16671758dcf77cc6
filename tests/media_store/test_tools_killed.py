"""exiftool, ffprobe and ffmpeg killed with SIGKILL in the middle of an upload request.

Each tool is reached through a small wrapper that records its pid and holds still until the test
has decided: the test kills that very process (the one the service started, as the OOM killer or
an operator would) while the request waits on it, then lets later processes run the real tool.
The request either succeeds because the service restarts the helper, or fails with a clear 503
and a retry hint, storing nothing; the next request works.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory

pytestmark = [
    pytest.mark.media_store,
    pytest.mark.integration,
    pytest.mark.skipif(not mf.ffmpeg_available(), reason="ffmpeg/ffprobe missing"),
]

WRAPPER = """#!/bin/sh
echo $$ >> "{box}/{name}.pids"
while [ ! -e "{box}/{name}.go" ]; do sleep 0.02; done
exec "{real}" "$@"
"""


class Tools:
    """Wrappers for exiftool, ffprobe and ffmpeg in ``box``; ``box`` goes first on PATH."""

    def __init__(self, box: Path) -> None:
        self.box = box
        for name in ("exiftool", "ffprobe", "ffmpeg"):
            real = shutil.which(name)
            assert real, f"{name} not installed"
            path = box / name
            path.write_text(WRAPPER.format(box=box, name=name, real=real))
            path.chmod(0o755)

    def release(self, name: str) -> None:
        (self.box / f"{name}.go").touch()

    def pids(self, name: str) -> list[int]:
        path = self.box / f"{name}.pids"
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def kill(self, name: str, count: int, then: Callable[[], None] | None = None) -> None:
        """Kill the first ``count`` processes of ``name`` as they start (in a thread)."""

        def run() -> None:
            deadline = time.monotonic() + 60
            killed: set[int] = set()
            while len(killed) < count and time.monotonic() < deadline:
                for pid in self.pids(name):
                    if pid not in killed and len(killed) < count:
                        assert _parent(pid) == os.getpid(), "not a helper of the service"
                        os.kill(pid, signal.SIGKILL)
                        killed.add(pid)
                time.sleep(0.02)
            if then is not None:
                then()

        threading.Thread(target=run, daemon=True).start()


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """Two different clips, made with the real ffmpeg before any wrapper is on PATH."""
    folder = tmp_path_factory.mktemp("clips")
    first = mf.video_file(folder / "a.mp4", duration=2.0, rate=10)
    second = mf.video_file(folder / "b.mp4", duration=2.0, rate=12)
    return first.read_bytes(), second.read_bytes()


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    box = tmp_path / "tools"
    box.mkdir()
    monkeypatch.setenv("PATH", f"{box}{os.pathsep}{os.environ['PATH']}")
    return Tools(box)


def _upload(store: Store, data: bytes, name: str) -> httpx.Response:
    with ThreadPoolExecutor(1) as pool:  # the request waits on the helper; the test kills it
        return pool.submit(store.upload, data, name).result(timeout=120)


def _count(store: Store) -> int:
    resp = store.client.get("/entity/", headers=store.reader)
    assert resp.status_code == 200
    total: int = resp.json()["pagination"]["total_items"]
    return total


def _stored_files(store: Store) -> list[Path]:
    root = store.settings.store_root()
    return [p for p in root.rglob("*") if p.is_file()]


def test_ffmpeg_killed_mid_request_is_run_again_and_upload_succeeds(
    make_store: StoreFactory, tools: Tools, videos: tuple[bytes, bytes]
) -> None:
    store = make_store(exiftool_path="exiftool")
    tools.release("exiftool")
    tools.release("ffprobe")
    tools.kill("ffmpeg", 1, then=lambda: tools.release("ffmpeg"))

    resp = _upload(store, videos[0], "clip.mp4")

    assert resp.status_code == 201, resp.text
    assert resp.json()["type"] == "video"
    assert len(tools.pids("ffmpeg")) == 2  # the killed one and its replacement
    assert store.client.get(f"/entity/{resp.json()['id']}/preview", headers=store.reader).is_success
    nxt = _upload(store, videos[1], "b.mp4")
    assert nxt.status_code == 201, nxt.text


def test_ffprobe_killed_every_time_is_a_clear_503_and_stores_nothing(
    make_store: StoreFactory, tools: Tools, videos: tuple[bytes, bytes]
) -> None:
    store = make_store(exiftool_path="exiftool")
    tools.release("exiftool")
    tools.release("ffmpeg")
    before_count, before_files = _count(store), _stored_files(store)
    tools.kill("ffprobe", 2)

    resp = _upload(store, videos[0], "clip.mp4")

    assert resp.status_code == 503, resp.text
    assert "ffprobe was killed by SIGKILL" in resp.json()["detail"]
    assert resp.headers["Retry-After"]
    assert _count(store) == before_count
    assert _stored_files(store) == before_files  # no original, rendition or temp file left
    tools.release("ffprobe")
    again = _upload(store, videos[0], "clip.mp4")
    assert again.status_code == 201, again.text


def test_exiftool_killed_mid_request_is_restarted_and_upload_succeeds(
    make_store: StoreFactory, tools: Tools, jpeg_with_exif: bytes
) -> None:
    store = make_store(exiftool_path="exiftool")
    tools.kill("exiftool", 1, then=lambda: tools.release("exiftool"))

    resp = _upload(store, jpeg_with_exif, "photo.jpg")

    assert resp.status_code == 201, resp.text
    assert len(tools.pids("exiftool")) == 2  # the killed one and the restarted one
    meta = store.client.get(f"/entity/{resp.json()['id']}/metadata", headers=store.reader)
    assert meta.status_code == 200
    assert "GPS" in str(meta.json())
    nxt = _upload(store, mf.jpeg_bytes(seed=11), "next.jpg")
    assert nxt.status_code == 201, nxt.text
