"""Demo mode (MEDIANEST_AUTH_DISABLED=true): anonymous callers are admins, only on loopback,
and every service says so in its log and its /health."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medianest.authentication.app import create_app as create_auth_app
from medianest.authentication.db import MIGRATIONS_DIR
from medianest.cli import app as cli_app
from medianest.common.app import build_app, no_lifespan, token_verifier_for
from medianest.common.demo import WARNING, DemoModeRefused, is_loopback_host
from medianest.common.security import Admin, StoreWrite
from medianest.common.settings import CommonSettings
from tests.authentication.conftest import make_settings
from tests.conftest import DatabaseFactory, TokenMinter

pytestmark = [pytest.mark.auth]
LOOPBACK = {
    "bind_host": "127.0.0.1",
    "auth_url": "http://127.0.0.1:8002",
    "media_store_url": "http://localhost:8000",
    "inference_url": "http://[::1]:8001",
}


def _settings(**overrides: Any) -> CommonSettings:
    return CommonSettings(auth_disabled=True, **{**LOOPBACK, **overrides})


@pytest.mark.unit
@pytest.mark.parametrize(
    "overrides",
    [
        {"bind_host": "0.0.0.0"},
        {"bind_host": "::"},
        {"bind_host": "192.168.1.10"},
        {"bind_host": None},
        {"auth_url": "http://auth.example.org:8002"},
        {"media_store_url": "http://10.0.0.2:8000"},
        {"inference_url": "http://0.0.0.0:8001"},
    ],
)
def test_demo_mode_is_refused_off_loopback(overrides: dict[str, Any]) -> None:
    with pytest.raises(DemoModeRefused, match="loopback"):
        build_app("test", _settings(**overrides), no_lifespan)


@pytest.mark.unit
def test_loopback_hosts() -> None:
    assert all(map(is_loopback_host, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback_host, ["0.0.0.0", "::", "10.0.0.1", "example.org", "", None]))


@pytest.mark.unit
def test_demo_mode_serves_anonymous_requests_as_admin_and_warns(
    token_minter: TokenMinter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = _settings(public_key_path=token_minter.public_key_path)
    app = build_app("test", settings, no_lifespan)
    assert WARNING in caplog.text
    app.state.token_verifier = token_verifier_for(settings)

    @app.get("/write")
    def write(user: StoreWrite) -> dict[str, Any]:
        return {"admin": user.is_admin}

    @app.get("/admin")
    def admin(user: Admin) -> dict[str, Any]:
        return {"admin": user.is_admin}

    client = TestClient(app)
    assert client.get("/write").json() == {"admin": True}
    assert client.get("/admin").json() == {"admin": True}
    # a credential that is sent is still checked, so permissions can be tried out
    reader = token_minter.header(permissions=["media_store_read"])
    assert client.get("/write", headers=reader).status_code == 403
    assert client.get("/write", headers={"Authorization": "Bearer junk"}).status_code == 401


@pytest.mark.unit
def test_without_demo_mode_anonymous_requests_are_401(token_minter: TokenMinter) -> None:
    settings = CommonSettings(public_key_path=token_minter.public_key_path, bind_host="0.0.0.0")
    app = build_app("test", settings, no_lifespan)
    app.state.token_verifier = token_verifier_for(settings)

    @app.get("/write")
    def write(user: StoreWrite) -> dict[str, Any]:
        return {"admin": user.is_admin}

    assert TestClient(app).get("/write").status_code == 401


@pytest.mark.integration
def test_auth_service_in_demo_mode_is_its_admin_and_says_so(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "home", db_factory.url(MIGRATIONS_DIR), auth_disabled=True, **LOOPBACK
    )
    with TestClient(create_auth_app(settings)) as client:
        health = client.get("/health").json()
        assert health["auth"] == "disabled"
        assert health["warning"] == WARNING
        me = client.get("/users/me")
        assert me.status_code == 200
        assert me.json()["username"] == "admin"
        assert client.get("/users/").status_code == 200


@pytest.mark.integration
@pytest.mark.parametrize("service", ["media_store"])  # the check is in build_app, shared
def test_serve_refuses_demo_mode_on_a_public_interface(tmp_path: Path, service: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "MEDIANEST_HOME": str(tmp_path),
        "MEDIANEST_AUTH_DISABLED": "true",
        "MEDIANEST_LOG_JSON": "false",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "medianest", "serve", service, "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: MEDIANEST_AUTH_DISABLED=true is only allowed when")
    assert "the service listens on 0.0.0.0" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.unit
def test_up_refuses_demo_mode_on_a_public_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIANEST_HOME", str(tmp_path))
    monkeypatch.setenv("MEDIANEST_AUTH_DISABLED", "true")
    for var in ("MEDIANEST_AUTH_URL", "MEDIANEST_MEDIA_STORE_URL", "MEDIANEST_INFERENCE_URL"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli_app, ["up", "--host", "0.0.0.0", "--workers", "0"])
    assert result.exit_code == 2
    assert "only allowed when every service listens on a loopback address" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing was started or created
