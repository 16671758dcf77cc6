"""API keys across real processes: an auth service and two media stores (`medianest serve`).

One store re-checks keys on every request (``MEDIANEST_API_KEY_CACHE_S=0``), so demotion and
revocation show at once; the other caches an exchange as long as the exchanged token lives
(300 s) and asks the auth service once for many requests. The SDK and the CLI use a key too,
and no key ever reaches a log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.client import MediaNestClient
from tests.client.conftest import free_port
from tests.inference.cluster import stop_all
from tests.polling import wait_http_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.auth]
ADMIN_PASSWORD = "keys-e2e-admin-pw"


@dataclass
class Services:
    home: Path
    env: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, service: str, extra: dict[str, str] | None = None) -> None:
        port = free_port()
        self.urls[name] = f"http://127.0.0.1:{port}"
        log = self.home / f"{name}.log"
        self.logs.append(log)
        env = {**self.env, **(extra or {})}
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "medianest", "serve", service, "--port", str(port)],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        wait_http_ready(self.urls[name] + "/health", proc, 60, lambda: log.read_text()[-3000:])

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    home = tmp_path_factory.mktemp("keys-e2e")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEDIANEST_", "AUTH_", "MEDIA_STORE_", "INFERENCE_"))
    }
    env.update(
        MEDIANEST_HOME=str(home / "data"),
        MEDIANEST_LOG_LEVEL="DEBUG",  # the most verbose logs must still hold no key
        AUTH_ADMIN_PASSWORD=ADMIN_PASSWORD,
        AUTH_ARGON2_TIME_COST="1",
        AUTH_ARGON2_MEMORY_COST_KIB="1024",
        AUTH_ARGON2_PARALLELISM="1",
    )
    svc = Services(home, env)
    try:
        svc.start("auth", "authentication")
        svc.env["MEDIANEST_AUTH_URL"] = svc.urls["auth"]
        svc.start("store", "media_store", {"MEDIANEST_API_KEY_CACHE_S": "0"})
        cached = {"MEDIANEST_HOME": str(home / "cached"), "MEDIANEST_API_KEY_CACHE_S": "3600"}
        svc.start("cached", "media_store", cached)  # trusts an exchange as long as its token
        yield svc
    finally:
        stop_all(svc.procs)


def _exchanges(services: Services) -> int:
    """How many key exchanges the auth service has answered (from its access log)."""
    lines = services.logs[0].read_text().splitlines()
    return sum('"/auth/api-key-token"' in line for line in lines)


def _token(auth: str, username: str, password: str) -> dict[str, str]:
    resp = httpx.post(f"{auth}/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _new_key(auth: str, headers: dict[str, str], perms: list[str]) -> dict[str, Any]:
    body = {"name": f"key {perms}", "permissions": perms}
    resp = httpx.post(f"{auth}/users/me/api-keys", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def _mkdir(store: str, headers: dict[str, str], label: str) -> int:
    resp = httpx.post(
        f"{store}/entity/", data={"is_collection": "true", "label": label}, headers=headers
    )
    return resp.status_code


def test_keys_work_on_the_store_within_scopes_and_owner_permissions(
    services: Services, tmp_path: Path
) -> None:
    auth, store, cached = services.urls["auth"], services.urls["store"], services.urls["cached"]
    admin = _token(auth, "admin", ADMIN_PASSWORD)
    user = {"username": "alice", "password": "alice-password-1"}
    perms = ["media_store_read", "media_store_write"]
    resp = httpx.post(f"{auth}/users/", json={**user, "permissions": perms}, headers=admin)
    assert resp.status_code == 201
    alice_id = resp.json()["id"]
    alice = _token(auth, "alice", "alice-password-1")
    writer = _new_key(auth, alice, perms)
    reader = _new_key(auth, alice, ["media_store_read"])
    w, r = writer["key"], reader["key"]

    # both header forms, on the store that checks every time and on the caching one
    for base in (store, cached):
        assert _mkdir(base, {"X-API-Key": w}, "by header") == 201
        assert _mkdir(base, {"Authorization": f"Bearer {w}"}, "by bearer") == 201
        assert _mkdir(base, {"X-API-Key": r}, "read-only key") == 403
        assert _mkdir(base, {"X-API-Key": "mnk_not-a-key"}, "malformed") == 401
        assert _mkdir(base, {"X-API-Key": "mnk_" + "Z" * 43}, "unknown") == 401
    before = _exchanges(services)
    for n in range(5):
        assert _mkdir(cached, {"X-API-Key": w}, f"cached {n}") == 201
    assert _exchanges(services) == before  # served from the cache: no round trip to auth

    # the SDK and the CLI, with the read-only key
    with MediaNestClient(auth, store, api_key=r) as client:
        assert client.me().username == "alice"
        assert client.list_entities().pagination.total_items >= 2
    env = {**services.env, "MEDIANEST_CONFIG_DIR": str(tmp_path / "cfg")}
    env.update(MEDIANEST_AUTH_URL=auth, MEDIANEST_MEDIA_STORE_URL=store)
    cli = [sys.executable, "-m", "medianest"]
    run = subprocess.run([*cli, "login", "--api-key", r], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([*cli, "whoami", "--json"], env=env, capture_output=True, text=True)
    assert '"username": "alice"' in run.stdout
    env_key = {**env, "MEDIANEST_CONFIG_DIR": str(tmp_path / "empty"), "MEDIANEST_API_KEY": r}
    run = subprocess.run([*cli, "whoami", "--json"], env=env_key, capture_output=True, text=True)
    assert '"username": "alice"' in run.stdout, run.stderr

    # keys managed from the CLI (a password session; a key cannot create keys)
    pw_env = {
        **env,
        "MEDIANEST_CONFIG_DIR": str(tmp_path / "pw"),
        "MEDIANEST_PASSWORD": "alice-password-1",
    }
    run = subprocess.run([*cli, "login", "-u", "alice"], env=pw_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    create = [*cli, "api-key", "create", "from cli", "-p", "media_store_read", "--json"]
    run = subprocess.run(create, env=pw_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert made["key"].startswith("mnk_")
    run = subprocess.run(
        [*cli, "api-key", "list", "--json"], env=pw_env, capture_output=True, text=True
    )
    assert made["id"] in [k["id"] for k in json.loads(run.stdout)]
    assert made["key"] not in run.stdout
    revoke = [*cli, "api-key", "revoke", str(made["id"])]
    assert subprocess.run(revoke, env=pw_env, capture_output=True, text=True).returncode == 0
    assert httpx.get(f"{store}/entity/", headers={"X-API-Key": made["key"]}).status_code == 401
    run = subprocess.run(
        create, env={**env_key, "MEDIANEST_API_KEY": r}, capture_output=True, text=True
    )
    assert run.returncode == 3  # 403: an API key cannot create keys

    # the owner is demoted: the write key can no longer write (no cache on this store)
    resp = httpx.put(
        f"{auth}/users/{alice_id}", json={"permissions": ["media_store_read"]}, headers=admin
    )
    assert resp.status_code == 200
    assert _mkdir(store, {"X-API-Key": w}, "after demotion") == 403

    # revoked: refused at once where nothing is cached
    resp = httpx.delete(f"{auth}/users/me/api-keys/{reader['id']}", headers=alice)
    assert resp.status_code == 204
    assert httpx.get(f"{store}/entity/", headers={"X-API-Key": r}).status_code == 401

    logs = services.log_text()
    assert "request" in logs  # the access logs ran, so there was something to leak
    for secret in (w, r, w[12:], r[12:]):
        assert secret not in logs
