"""``medianest user ...`` against a real database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medianest.authentication.app import create_app
from medianest.cli.users import register
from tests.authentication.conftest import CHEAP_ARGON2, login, make_settings
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.auth]


@pytest.fixture
def cli(
    db_factory: DatabaseFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> typer.Typer:
    url = db_factory.empty_url()
    monkeypatch.setenv("AUTH_DATABASE_URL", url)
    monkeypatch.setenv("MEDIANEST_HOME", str(tmp_path / "home"))
    for key, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(f"AUTH_{key.upper()}", str(value))
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a group needs two entries to keep its sub-command name
    register(app)
    return app


def _run(app: typer.Typer, *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_create_list_grant_revoke(cli: typer.Typer) -> None:
    out = _run(
        cli, "user", "create", "alice", "--password", "alice-password", "-p", "media_store_read"
    )
    assert "created user alice" in out
    _run(cli, "user", "grant", "alice", "media_store_write", "ai_inference_support")
    out = _run(cli, "user", "revoke", "alice", "media_store_read")
    assert out.strip() == "alice: ai_inference_support media_store_write"
    listing = _run(cli, "user", "list")
    assert "alice" in listing
    assert "ai_inference_support media_store_write" in listing


def test_create_admin_with_generated_password_then_login(cli: typer.Typer, tmp_path: Path) -> None:
    out = _run(cli, "user", "create", "boss", "--admin")
    password = out.split("generated password: ")[1].strip()
    settings = make_settings(tmp_path / "home", os.environ["AUTH_DATABASE_URL"])
    with TestClient(create_app(settings)) as client:
        token = login(client, "boss", password)["access_token"]
        me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["is_admin"] is True


def test_set_password_with_prompt(cli: typer.Typer, tmp_path: Path) -> None:
    _run(cli, "user", "create", "carol", "--password", "first-password")
    _run(
        cli, "user", "set-password", "carol", "--prompt", input="second-password\nsecond-password\n"
    )
    settings = make_settings(tmp_path / "home", os.environ["AUTH_DATABASE_URL"])
    with TestClient(create_app(settings)) as client:
        login(client, "carol", "second-password")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["user", "create", "bad name", "--password", "long-enough"], 2),
        (["user", "create", "okname", "--password", "short"], 2),
        (["user", "create", "okname", "--password", "long-enough", "-p", "root!"], 2),
        (["user", "grant", "admin", "bad perm"], 2),
        (["user", "grant", "nobody", "media_store_read"], 1),
        (["user", "set-password", "nobody", "--password", "long-enough"], 1),
    ],
)
def test_cli_errors_exit_non_zero(cli: typer.Typer, args: list[str], code: int) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output


def test_duplicate_user_exits_1(cli: typer.Typer) -> None:
    _run(cli, "user", "create", "dup", "--password", "long-enough")
    result = CliRunner().invoke(cli, ["user", "create", "DUP", "--password", "long-enough"])
    assert result.exit_code == 1
    assert "already exists" in result.output
