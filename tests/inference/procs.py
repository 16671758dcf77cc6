"""Helpers that run the inference API (uvicorn) and workers (`medianest worker`) as processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.inference.standin import free_port

BIN = Path(sys.executable).parent


@contextmanager
def api_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """Real uvicorn serving the inference app on a free port; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "medianest.inference.app:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"inference API exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("inference API did not become healthy")


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = [str(BIN / "medianest"), "worker", *args]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=out)
