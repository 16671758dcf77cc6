"""Public endpoints (banner, health, permissions) and the security declared on every route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medianest.common.permissions import DESCRIPTIONS, Permission

pytestmark = [pytest.mark.auth]

PUBLIC = {
    ("get", "/"),
    ("get", "/health"),
    ("post", "/auth/token"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/auth/public-key"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/auth/permissions"),
}


def test_banner(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["service"] == "authentication"


def test_health_reports_database(client: TestClient) -> None:
    assert client.get("/health").json() == {
        "status": "ok",
        "database": "ok",
        "auth": "enabled",
        "warning": None,
    }


def test_permissions_lists_every_known_permission(client: TestClient) -> None:
    body = client.get("/auth/permissions").json()
    names = [p["name"] for p in body]
    assert {"media_store_read", "media_store_write", "ai_inference_support"} <= set(names)
    assert names == [*(p.value for p in Permission), "*"]
    known = [p for p in body if p["name"] != "*"]
    assert all(p["description"] == DESCRIPTIONS[Permission(p["name"])] for p in known)


def test_every_route_is_public_on_purpose_or_declares_bearer_auth(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, methods in paths.items():
        for method, op in methods.items():
            if (method, path) in PUBLIC:
                assert "security" not in op, (method, path)
            else:
                assert op.get("security") == [{"HTTPBearer": []}], (method, path)


def test_unknown_route_is_404_json(client: TestClient) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "Not Found"}
