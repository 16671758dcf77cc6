"""The service under a real uvicorn: login over HTTP, and other services verifying via JWKS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medianest.authentication.db import MIGRATIONS_DIR
from medianest.common.security import PublicKeyProvider, TokenVerifier
from tests.authentication.conftest import ADMIN_PASSWORD, CHEAP_ARGON2
from tests.conftest import DatabaseFactory
from tests.polling import wait_http_ready

pytestmark = [pytest.mark.auth, pytest.mark.integration]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(db_factory: DatabaseFactory, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "MEDIANEST_HOME": str(tmp_path / "home"),
        "AUTH_DATABASE_URL": db_factory.url(MIGRATIONS_DIR),
        "AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **{f"AUTH_{k.upper()}": str(v) for k, v in CHEAP_ARGON2.items()},
    }
    cmd = [sys.executable, "-m", "uvicorn", "medianest.authentication.app:create_app"]
    cmd += ["--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(f"{url}/health", proc, 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_other_services_verify_tokens_through_jwks(server: str) -> None:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    token = httpx.post(server + "/auth/token", data=form).json()["access_token"]
    verifier = TokenVerifier(PublicKeyProvider(auth_url=server), "medianest-auth", "medianest")
    user = verifier.verify(token)
    assert user.is_admin
    assert user.username == "admin"
    me = httpx.get(server + "/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "admin"
