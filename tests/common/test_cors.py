"""CORS is closed by default and open only to configured origins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medianest.common.app import build_app, no_lifespan
from medianest.common.settings import CommonSettings

pytestmark = [pytest.mark.unit]


def _client(origins: list[str]) -> TestClient:
    app = build_app("t", CommonSettings(cors_origins=origins), no_lifespan)

    @app.get("/x")
    def x() -> dict[str, bool]:
        return {"ok": True}

    return TestClient(app)


def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    return dict(client.options("/x", headers=headers).headers)


def test_cors_closed_by_default() -> None:
    client = _client([])
    r = client.get("/x", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in _preflight(client, "https://evil.example")


def test_cors_allows_only_configured_origins() -> None:
    client = _client(["https://photos.example"])
    ok = _preflight(client, "https://photos.example")
    assert ok["access-control-allow-origin"] == "https://photos.example"
    assert "access-control-allow-origin" not in _preflight(client, "https://evil.example")


def test_cors_origins_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIANEST_CORS_ORIGINS", '["https://a.example","https://b.example"]')
    assert CommonSettings().cors_origins == ["https://a.example", "https://b.example"]
