"""Fixtures for the authentication tests: a running app per database backend, and logins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medianest.authentication.app import create_app
from medianest.authentication.config import Settings
from medianest.authentication.db import MIGRATIONS_DIR
from tests.conftest import DatabaseFactory

ADMIN_PASSWORD = "admin-test-password"
CHEAP_ARGON2: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost_kib": 1024,
    "argon2_parallelism": 1,
}


def make_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "home": home,
        "admin_password": SecretStr(ADMIN_PASSWORD),
        **CHEAP_ARGON2,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(db_factory: DatabaseFactory, tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", db_factory.url(MIGRATIONS_DIR))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str) -> dict[str, Any]:
    resp = client.post("/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(client: TestClient) -> dict[str, str]:
    return bearer(login(client, "admin", ADMIN_PASSWORD)["access_token"])


MakeUser = Callable[..., dict[str, Any]]


@pytest.fixture
def make_user(client: TestClient, admin_headers: dict[str, str]) -> MakeUser:
    """Create a user through the API; returns its UserRead body."""

    def _make(username: str = "alice", password: str = "alice-password", **fields: Any) -> Any:
        body = {"username": username, "password": password, **fields}
        resp = client.post("/users/", json=body, headers=admin_headers)
        assert resp.status_code == 201, resp.text
        return resp.json()

    return _make
