"""A 2 GB upload streams through a real uvicorn process with flat memory (limit: 4 GiB).

The body is a small real JPEG padded to 2 GB: a body of zeros behind a JPEG header is also refused
correctly (422), but Pillow's marker scan takes minutes on it (reported to the media library).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TokenMinter
from tests.media_store import media_factory as mf

pytestmark = [pytest.mark.media_store, pytest.mark.slow, pytest.mark.integration]

SIZE = 2 * 1024**3
CHUNK = b"\0" * (1 << 20)
BOUNDARY = "medianestboundary"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _body(peak: list[int], pid: int) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="is_collection"\r\n\r\nfalse\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    head = mf.jpeg_bytes(size=(64, 48), seed=1)  # a real picture, then ~2 GB of padding
    yield head
    sent = len(head)
    while sent < SIZE:
        chunk = CHUNK[: min(len(CHUNK), SIZE - sent)]
        sent += len(chunk)
        if sent % (256 * len(CHUNK)) < len(chunk):
            peak.append(_rss_kib(pid))
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def server(
    tmp_path: Path, token_minter: TokenMinter
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "MEDIANEST_HOME": str(tmp_path / "home"),
        "MEDIANEST_PUBLIC_KEY_PATH": str(token_minter.public_key_path),
    }
    cmd = [sys.executable, "-m", "uvicorn", "medianest.media_store.app:create_app", "--factory",
           "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url, proc
    proc.terminate()
    proc.wait(15)


def test_two_gigabyte_upload_keeps_memory_flat(
    server: tuple[str, subprocess.Popen[bytes]], token_minter: TokenMinter, tmp_path: Path
) -> None:
    url, proc = server
    headers = {
        **token_minter.header(sub=7, permissions=["media_store_write"]),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    before = _rss_kib(proc.pid)
    peak: list[int] = []
    resp = httpx.post(f"{url}/entity/", content=_body(peak, proc.pid), headers=headers,
                      timeout=300)  # fmt: skip
    assert resp.status_code == 201, resp.text
    peak.append(_rss_kib(proc.pid))
    entity = resp.json()
    assert entity["file_size"] == SIZE
    assert max(peak) - before < 64 * 1024, (before, peak)  # < 64 MiB growth for 2 GB sent
    assert list((tmp_path / "home" / "media_store" / "tmp").iterdir()) == []
    stored = tmp_path / "home" / "media_store" / entity["file_path"]
    assert stored.stat().st_size == SIZE
    assert httpx.delete(f"{url}/entity/{entity['id']}", headers=headers).status_code == 204
    deadline = time.monotonic() + 20  # files go after the commit, once the 204 is on its way
    while stored.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stored.exists()
