"""App-level guarantees: every non-public route declares auth; the OpenAPI document builds."""

from __future__ import annotations

import pytest

from medianest.media_store.app import create_app
from tests.media_store.conftest import Store, StoreFactory

pytestmark = [pytest.mark.media_store]

PUBLIC = {"/", "/health"}


def test_every_route_but_the_banner_declares_auth() -> None:
    doc = create_app().openapi()
    operations = [(path, op) for path, ops in doc["paths"].items() for op in ops.values()]
    assert len(operations) > 15
    for path, operation in operations:
        if path in PUBLIC:
            continue
        assert operation.get("security"), f"{path} declares no auth"


def test_openapi_document_lists_every_route() -> None:
    doc = create_app().openapi()
    for path in ("/entity/", "/entity/{entity_id}/file", "/changes", "/events", "/duplicates",
                 "/entity/lookup", "/entity/{entity_id}/versions/{number}/restore"):  # fmt: skip
        assert path in doc["paths"]
    post = doc["paths"]["/entity/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]


def test_health_reports_database_and_free_disk(store: Store) -> None:
    resp = store.client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["free_disk_bytes"] > 0


def test_health_says_authentication_is_on(store: Store) -> None:
    body = store.client.get("/health").json()
    assert body["auth"] == "enabled"
    assert body["warning"] is None


def test_demo_mode_store_serves_anonymous_writes_and_says_so(make_store: StoreFactory) -> None:
    demo = make_store(auth_disabled=True, bind_host="127.0.0.1")
    body = demo.client.get("/health").json()
    assert body["auth"] == "disabled"
    assert "AUTHENTICATION IS DISABLED" in body["warning"]
    resp = demo.client.post("/entity/", data={"is_collection": "true", "label": "demo"})
    assert resp.status_code == 201
