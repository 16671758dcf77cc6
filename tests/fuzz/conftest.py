"""A whole MediaNest (real processes via ``medianest up``, no workers) for schema fuzzing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class Running:
    urls: dict[str, str]
    admin_headers: dict[str, str]
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if "Press Ctrl-C to stop." in log.read_text(errors="replace"):
            return
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    raise AssertionError("medianest up did not start")


@pytest.fixture(scope="session")
def running_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    home = tmp_path_factory.mktemp("fuzz")
    urls = {s: f"http://127.0.0.1:{_free_port()}" for s in ("auth", "media_store", "inference")}
    env = {
        **os.environ,
        "MEDIANEST_HOME": str(home / "data"),
        "MEDIANEST_AUTH_URL": urls["auth"],
        "MEDIANEST_MEDIA_STORE_URL": urls["media_store"],
        "MEDIANEST_INFERENCE_URL": urls["inference"],
        "AUTH_ADMIN_PASSWORD": "fuzz-admin-password-1",
        "AUTH_THROTTLE_MAX_PER_USERNAME": "1000000",
        "AUTH_THROTTLE_MAX_PER_ADDRESS": "1000000",
        "AUTH_ARGON2_TIME_COST": "1",
        "AUTH_ARGON2_MEMORY_COST_KIB": "1024",
    }
    log = home / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medianest", "up", "--workers", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_up(proc, log)
        token = httpx.post(
            f"{urls['auth']}/auth/token",
            data={"username": "admin", "password": "fuzz-admin-password-1"},
        ).json()["access_token"]
        yield Running(urls, {"Authorization": f"Bearer {token}"}, log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
