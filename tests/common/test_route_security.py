"""Every route of every service declares its security: a test walks each app's OpenAPI document
(where the bearer-token dependency shows as a security requirement) and fails when an operation
that is not on the short public list has none."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import TokenMinter

pytestmark = [pytest.mark.unit]

PUBLIC = {
    "authentication": {
        ("GET", "/"),
        ("GET", "/health"),
        ("POST", "/auth/token"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/logout"),
        ("GET", "/auth/public-key"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/auth/permissions"),
    },
    "media_store": {("GET", "/"), ("GET", "/health")},
    "inference": {("GET", "/"), ("GET", "/health")},
}


def _app(service: str, tmp_path: Path, minter: TokenMinter) -> FastAPI:
    config = importlib.import_module(f"medianest.{service}.config")
    create_app = importlib.import_module(f"medianest.{service}.app").create_app
    settings = config.Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        public_key_path=minter.public_key_path,
    )
    return create_app(settings)


def _operations(app: FastAPI) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the app's OpenAPI document (which lists every route we serve)."""
    ops = {}
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            ops[(method.upper(), path)] = op
    return ops


@pytest.mark.parametrize("service", sorted(PUBLIC))
def test_every_non_public_route_requires_a_token(
    service: str, tmp_path: Path, token_minter: TokenMinter
) -> None:
    ops = _operations(_app(service, tmp_path, token_minter))
    assert ops, "the app has no routes"
    missing = [
        f"{method} {path}"
        for (method, path), op in sorted(ops.items())
        if (method, path) not in PUBLIC[service] and not op.get("security")
    ]
    assert missing == []


@pytest.mark.parametrize("service", sorted(PUBLIC))
def test_public_list_names_only_existing_routes(
    service: str, tmp_path: Path, token_minter: TokenMinter
) -> None:
    assert set(_operations(_app(service, tmp_path, token_minter))) >= PUBLIC[service]
