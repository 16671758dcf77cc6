"""Every route of every service declares its security: a test walks the apps' routes and fails
when a route that is not on the short public list has no bearer-token dependency."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute

from medianest.common.security import bearer_scheme
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


def _app(service: str, tmp_path: Path, minter: TokenMinter):  # type: ignore[no-untyped-def]
    config = importlib.import_module(f"medianest.{service}.config")
    create_app = importlib.import_module(f"medianest.{service}.app").create_app
    settings = config.Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        public_key_path=minter.public_key_path,
    )
    return create_app(settings)


def _has_bearer(route: APIRoute) -> bool:
    flat = get_flat_dependant(route.dependant)
    return any(dep.call is bearer_scheme for dep in flat.dependencies)


@pytest.mark.parametrize("service", sorted(PUBLIC))
def test_every_non_public_route_requires_a_token(
    service: str, tmp_path: Path, token_minter: TokenMinter
) -> None:
    app = _app(service, tmp_path, token_minter)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert routes, "the app has no routes"
    missing = [
        f"{method} {route.path}"
        for route in routes
        for method in sorted(route.methods)
        if (method, route.path) not in PUBLIC[service] and not _has_bearer(route)
    ]
    assert missing == []


@pytest.mark.parametrize("service", sorted(PUBLIC))
def test_public_list_names_only_existing_routes(
    service: str, tmp_path: Path, token_minter: TokenMinter
) -> None:
    app = _app(service, tmp_path, token_minter)
    existing = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert PUBLIC[service] <= existing
