"""The whole system as real processes: authentication, media store and inference API (``medianest
serve``) plus ``medianest worker`` processes, on free ports with one data dir. Machine accounts
come from the auth service's bootstrap helpers, as ``medianest up`` makes them. Used by the
end-to-end test and by ``bench/inference.py``."""

from __future__ import annotations

import mimetypes
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.inference.standin import free_port
from tests.polling import wait_http_ready

ADMIN_PASSWORD = "e2e-admin-password"
SERVICES = ("authentication", "media_store", "inference")
PREFIXES = ("MEDIANEST_", "AUTH_", "MEDIA_STORE_", "INFERENCE_")


@dataclass
class System:
    home: Path
    env: dict[str, str]
    urls: dict[str, str]
    admin_token: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def stop(self, name: str) -> None:
        """Stop one service (SIGTERM) and wait for it to exit."""
        stop_all([self.running.pop(name)])

    def start(self, name: str) -> None:
        """Start one service again on its port, with the same data; wait until it answers."""
        port = self.urls[name].rsplit(":", 1)[1]
        proc = _start(self, name, ["serve", name, "--port", port])
        _wait_ready(self, name, proc)

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def upload(self, client: httpx.Client, name: str, data: bytes) -> dict[str, Any]:
        resp = client.post(
            f"{self.urls['media_store']}/entity/", headers=self.headers,
            data={"is_collection": "false", "label": name},
            files={"image": (name, data, mimetypes.guess_type(name)[0] or "image/jpeg")},
            timeout=60,
        )  # fmt: skip
        if resp.status_code not in (200, 201):
            raise AssertionError(f"upload of {name}: {resp.status_code} {resp.text[:300]}")
        entity: dict[str, Any] = resp.json()
        return entity


def _accounts(home: Path) -> tuple[dict[str, str], str]:
    """Admin, the inference service's and the worker's accounts; an admin access token."""
    from medianest.authentication import bootstrap
    from medianest.authentication.config import Settings as AuthSettings

    settings = AuthSettings(home=home, admin_password=ADMIN_PASSWORD, log_json=False)
    bootstrap.ensure_admin(settings)
    inference_pw = bootstrap.ensure_service_account(
        settings, "medianest-inference", ["media_store_read"]
    )
    worker_pw = bootstrap.ensure_service_account(
        settings, "medianest-worker", ["media_store_read", "ai_inference_worker"]
    )
    env = {
        "INFERENCE_SERVICE_USERNAME": "medianest-inference",
        "INFERENCE_SERVICE_PASSWORD": inference_pw,
        "MEDIANEST_WORKER_USERNAME": "medianest-worker",
        "MEDIANEST_WORKER_PASSWORD": worker_pw,
    }
    return env, bootstrap.issue_access_token(settings, "admin")


def _start(system: System, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    with (system.home / f"{name}.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medianest", *args], env=system.env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    system.procs.append(proc)
    system.running[name] = proc
    return proc


def _wait_ready(system: System, name: str, proc: subprocess.Popen[bytes]) -> None:
    url = system.urls[name] + ("/" if name == "media_store" else "/health")
    wait_http_ready(url, proc, 90, lambda: system.log(name))


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_system(
    home: Path, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[System]:
    """Start the three services and one ``medianest worker`` with ``workers`` processes (none
    when ``workers`` is 0: jobs then stay queued)."""
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    accounts, admin_token = _accounts(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    if "INFERENCE_MODEL_DIR" in os.environ:  # the exported model graph, shared (tests/conftest)
        env["INFERENCE_MODEL_DIR"] = os.environ["INFERENCE_MODEL_DIR"]
    env.update({
        "MEDIANEST_HOME": str(home), "MEDIANEST_LOG_JSON": "false",
        "MEDIANEST_LOG_LEVEL": "WARNING", "AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_AUTH_URL": urls["authentication"],
        "MEDIANEST_MEDIA_STORE_URL": urls["media_store"],
        "MEDIANEST_INFERENCE_URL": urls["inference"],
        "INFERENCE_FOLLOWER_POLL_S": "1", "MEDIANEST_WORKER_CLAIM_WAIT_S": "2",
        **accounts, **(extra_env or {}),
    })  # fmt: skip
    system = System(home, env, urls, admin_token)
    try:
        for name in SERVICES:
            proc = _start(system, name, ["serve", name, "--port", str(ports[name])])
            _wait_ready(system, name, proc)
        if workers:
            _start(system, "worker", ["worker", "--concurrency", str(workers)])
        yield system
    finally:
        stop_all(system.procs)
