"""Disk full on a real small filesystem during an upload: 507, no partial file, no row.

A real ``medianest serve media_store`` process keeps its database in the data dir while its file
storage (``$MEDIANEST_HOME/media_store``: originals, renditions and the upload spool ``tmp/``) is a
private 8 MB tmpfs. The filesystem is filled with real uploads and then a filler file, leaving
exactly the room a scenario needs:

- ``spool``: less than half the upload, so the spool write fails while the body streams in;
- ``store``: room for the spooled upload but not for its renditions, so storing fails after the
  original was already moved into place.

``tests/media_store/test_uploads.py`` injects ENOSPC with a monkeypatch; this one does not.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import TokenMinter
from tests.inference.cluster import stop_all
from tests.inference.standin import free_port
from tests.polling import wait_http_ready

pytestmark = [pytest.mark.integration, pytest.mark.media_store]

TMPFS_SIZE = "8M"
PAGE = 4096
PREFIXES = ("MEDIANEST_", "AUTH_", "MEDIA_STORE_", "INFERENCE_")


def noise_jpeg(seed: int, width: int, height: int) -> bytes:
    """A distinct, incompressible JPEG (noise keeps its size close to width * height)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=92)
    return buf.getvalue()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A private tmpfs of TMPFS_SIZE, unmounted at teardown whatever happened."""
    mountpoint = tmp_path / "home" / "media_store"
    mountpoint.mkdir(parents=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", mountpoint],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except FileNotFoundError:
        pytest.skip("the mount command is not available, so no small filesystem can be made")
    if done.returncode != 0:
        pytest.skip(
            "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): "
            f"{done.stderr.strip() or done.returncode}"
        )
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", mountpoint], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mountpoint], capture_output=True)


@dataclass
class LiveStore:
    url: str
    root: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    writer: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def upload(self, client: httpx.Client, data: bytes, name: str) -> httpx.Response:
        return client.post(
            f"{self.url}/entity/", headers=self.writer,
            data={"is_collection": "false", "label": name},
            files={"image": (name, data, "image/jpeg")},
        )  # fmt: skip

    def free_bytes(self) -> int:
        stat = os.statvfs(self.root)
        return stat.f_bavail * stat.f_frsize

    def entities(self, client: httpx.Client) -> list[dict[str, Any]]:
        resp = client.get(f"{self.url}/entity/", params={"page_size": 100})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        assert resp.json()["pagination"]["total_items"] == len(items)
        return items


@pytest.fixture
def live_store(small_fs: Path, token_minter: TokenMinter) -> Iterator[LiveStore]:
    """``medianest serve media_store``: database in the data dir, files on the small tmpfs."""
    home = small_fs.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update({
        "MEDIANEST_HOME": str(home), "MEDIANEST_PUBLIC_KEY_PATH": str(token_minter.public_key_path),
        "MEDIANEST_LOG_JSON": "false", "MEDIANEST_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    log_path = home / "media_store.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medianest", "serve", "media_store", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    store = LiveStore(
        f"http://127.0.0.1:{port}", small_fs, proc, log_path,
        token_minter.header(sub=7, permissions=["media_store_write"]),
    )  # fmt: skip
    try:
        wait_http_ready(f"{store.url}/", proc, 60, store.log)
        assert Path(env["MEDIANEST_HOME"], "media_store.db").exists()  # the DB is off the tmpfs
        yield store
    finally:
        stop_all([proc])


def fill(path: Path, size: int) -> None:
    """Reserve ``size`` bytes of the filesystem with a filler file (not part of the store)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


def pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


def stray_files(root: Path, entities: list[dict[str, Any]]) -> list[str]:
    """Files in the storage tree that no entity row owns (temp files are always stray)."""
    owned = {e["sha256"] for e in entities if e.get("sha256")}
    stray = [str(p.relative_to(root)) for p in (root / "tmp").iterdir()]
    stray += [
        str(p.relative_to(root)) for p in (root / "files").rglob("*")
        if p.is_file() and p.name not in owned
    ]  # fmt: skip
    stray += [
        str(p.relative_to(root)) for p in (root / "renditions").iterdir()
        if p.name.split(".", 1)[0] not in owned
    ]  # fmt: skip
    return sorted(stray)


@pytest.mark.parametrize("stage", ["spool", "store"])
def test_disk_full_during_upload_is_507_with_no_file_and_no_row(
    live_store: LiveStore, stage: str
) -> None:
    store, root = live_store, live_store.root
    filler = root / "filler.bin"
    with httpx.Client(timeout=60) as client:
        # some real content first: two media with their originals and renditions
        for seed in (1, 2):
            resp = store.upload(client, noise_jpeg(seed, 1000, 750), f"filler-{seed}.jpg")
            assert resp.status_code == 201, f"{resp.status_code} {resp.text}\n{store.log()}"
        before = store.entities(client)
        cursor = client.get(f"{store.url}/changes", params={"since": 0}).json()["next_cursor"]

        # the upload that will not fit; for the spool case several MiB, so the spool write fails
        # mid-stream with data still buffered (not only when the file is closed)
        data = noise_jpeg(99, 2000, 1500) if stage == "spool" else noise_jpeg(99, 800, 600)
        md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
        room = len(data) // 3 if stage == "spool" else pages(len(data)) + PAGE
        fill(filler, store.free_bytes() - room)
        assert store.free_bytes() <= room

        resp = store.upload(client, data, "too-big.jpg")
        assert resp.status_code == 507, f"{resp.status_code} {resp.text}\n{store.log()}"
        assert "disk space" in resp.json()["detail"]

        # no row, no change, no file: the store looks exactly as before
        after = store.entities(client)
        assert [e["id"] for e in after] == [e["id"] for e in before]
        found = client.post(f"{store.url}/entity/lookup", json={"hashes": [md5, sha256]})
        assert found.status_code == 200, found.text
        assert [r["known"] for r in found.json()["results"]] == [False, False]
        changes = client.get(f"{store.url}/changes", params={"since": cursor}).json()["items"]
        assert changes == []
        assert stray_files(root, after) == []

        # the service stays healthy ...
        assert store.proc.poll() is None
        assert client.get(f"{store.url}/").status_code == 200
        assert client.get(f"{store.url}/entity/{before[0]['id']}/file").content

        # ... and once space is freed the same upload succeeds
        if stage == "spool":
            filler.unlink()
        else:
            gone = before[0]
            deleted = client.delete(f"{store.url}/entity/{gone['id']}", headers=store.writer)
            assert deleted.status_code == 204, deleted.text
            deadline = time.monotonic() + 30
            while (root / gone["file_path"]).exists():  # removed after the commit
                assert time.monotonic() < deadline, "the deleted entity's file stayed"
                time.sleep(0.1)
        resp = store.upload(client, data, "fits-now.jpg")
        assert resp.status_code == 201, f"{resp.status_code} {resp.text}\n{store.log()}"
        assert resp.json()["sha256"] == sha256
        assert client.get(f"{store.url}/entity/{resp.json()['id']}/file").content == data
        assert stray_files(root, store.entities(client)) == []
    assert "Traceback" not in store.log(), store.log()
