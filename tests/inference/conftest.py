"""Fixtures of the inference job-system tests (stand-in store, app builder, worker tokens)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medianest.common.permissions import Permission
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from medianest.inference.db import MIGRATIONS_DIR
from tests.conftest import DatabaseFactory, TokenMinter
from tests.inference.standin import StandinStore, serve


@pytest.fixture
def store() -> Iterator[StandinStore]:
    standin = StandinStore()
    with serve(standin.app()) as url:
        standin.url = url
        yield standin


@pytest.fixture
def make_settings(
    db_factory: DatabaseFactory, tmp_path: Path, token_minter: TokenMinter, store: StandinStore
) -> Callable[..., Settings]:
    url = db_factory.url(MIGRATIONS_DIR)

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": url, "home": tmp_path, "public_key_path": token_minter.public_key_path,
            "media_store_url": store.url, "follower_enabled": False, "retry_base_s": 0.05,
            "reaper_interval_s": 0.2, "enable_test_tasks": True, "log_json": False,
        }  # fmt: skip
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def user_headers(token_minter: TokenMinter) -> dict[str, str]:
    return token_minter.header(sub=2, permissions=[Permission.AI_INFERENCE_SUPPORT.value])


@pytest.fixture
def worker_headers(token_minter: TokenMinter) -> dict[str, str]:
    return token_minter.header(sub=3, permissions=[Permission.AI_INFERENCE_WORKER.value])
