"""Helpers that run the inference API (uvicorn) and workers (`medianest worker`) as processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.inference.cluster import stop_all
from tests.inference.standin import free_port
from tests.polling import wait_http_ready

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
        wait_http_ready(f"{url}/health", proc, 30, log.read_text)
        yield url
    finally:
        stop_all([proc])


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = [str(BIN / "medianest"), "worker", *args]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=out)
