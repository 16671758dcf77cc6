"""Real processes for the web server tests: a media store and the web server in front of it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connections(pid: int, port: int) -> int:
    """Established TCP connections that process ``pid`` holds to 127.0.0.1:``port``."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state, inode = fields[2], fields[3], fields[9]
        if state == "01" and remote == f"0100007F:{port:04X}" and inode in inodes:
            count += 1
    return count


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    home: Path | None = None  # MEDIANEST_HOME, when the test chose it


def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server for {url} exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {timeout}s")


@contextmanager
def serve(service: str, env: dict[str, str]) -> Iterator[Server]:
    """``python -m medianest serve <service>`` on a free port; stopped (SIGTERM) afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "medianest", "serve", service, "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, "MEDIANEST_LOG_LEVEL": "WARNING", **env})
    home = Path(env["MEDIANEST_HOME"]) if "MEDIANEST_HOME" in env else None
    server = Server(f"http://127.0.0.1:{port}", proc, home)
    try:
        _wait_up(server.url, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def store_env(home: Path, public_key: Path) -> dict[str, str]:
    return {
        "MEDIANEST_HOME": str(home),
        "MEDIANEST_PUBLIC_KEY_PATH": str(public_key),
        "MEDIA_STORE_SSE_KEEPALIVE_S": "0.5",
        "MEDIA_STORE_READ_AUTH_CACHE_S": "0",
    }


def web_env(store_url: str, dist: Path, **urls: str) -> dict[str, str]:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return {
        "MEDIANEST_MEDIA_STORE_URL": store_url,
        "MEDIANEST_AUTH_URL": urls.get("auth", closed),
        "MEDIANEST_INFERENCE_URL": urls.get("inference", closed),
        "MEDIANEST_WEB_DIST": str(dist),
    }
