"""Real MediaNest services for the SDK/CLI tests: three ``medianest serve`` processes and one
worker on free ports, sharing one data dir, torn down at the end of the session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.polling import wait_http_ready

ADMIN_PASSWORD = "cli-tests-admin-pw"
SERVICES = ("authentication", "media_store", "inference")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    urls: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, config: Path, check: int | None = 0, timeout: float = 120) -> Result:
        """Run ``medianest ARGS`` as a user would, with its own config dir."""
        env = {**self.env, "MEDIANEST_CONFIG_DIR": str(config), "COLUMNS": "160"}
        proc = subprocess.run(
            [sys.executable, "-m", "medianest", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check is not None:
            assert proc.returncode == check, f"{args}: rc={proc.returncode}\n{proc.stderr}"
        return result

    def cli_env(self, config: Path) -> dict[str, str]:
        return {**self.env, "MEDIANEST_CONFIG_DIR": str(config)}


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _start(cluster: Cluster, name: str, args: list[str], ready_url: str | None) -> None:
    log = cluster.home / f"{name}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medianest", *args],
            env=cluster.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    cluster.procs.append(proc)
    if ready_url:
        wait_http_ready(ready_url, proc, 60, lambda: log.read_text()[-3000:])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _environment(home: Path, ports: dict[str, int]) -> dict[str, str]:
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDIANEST_", "AUTH_", "MEDIA_STORE_", "INFERENCE_"))
        },
        "MEDIANEST_HOME": str(home),
        "MEDIANEST_LOG_JSON": "false",
        "MEDIANEST_AUTH_URL": urls["authentication"],
        "MEDIANEST_MEDIA_STORE_URL": urls["media_store"],
        "MEDIANEST_INFERENCE_URL": urls["inference"],
        "AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "INFERENCE_SERVICE_USERNAME": "admin",
        "INFERENCE_SERVICE_PASSWORD": ADMIN_PASSWORD,
        "INFERENCE_AUTO_PIPELINE": "false",
        "MEDIANEST_WORKER_USERNAME": "admin",
        "MEDIANEST_WORKER_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_WORKER_CLAIM_WAIT_S": "1",
    }


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("medianest-home")
    ports = {name: free_port() for name in SERVICES}
    env = _environment(home, ports)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    cluster = Cluster(home, env, urls)
    try:
        for name in SERVICES:
            ready = urls[name] + ("/" if name == "media_store" else "/health")
            _start(cluster, name, ["serve", name, "--port", str(ports[name])], ready)
        worker = ["worker", "--concurrency", "1", "--task-type", "image_info"]
        _start(cluster, "worker", worker, None)
        ml = ["image_embedding", "face_embedding"]
        ml_worker = ["worker", "--concurrency", "1", *[a for t in ml for a in ("--task-type", t)]]
        _start(cluster, "ml-worker", ml_worker, None)
        yield cluster
    finally:
        _stop(cluster.procs)
