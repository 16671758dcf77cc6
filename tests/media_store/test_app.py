"""App-level guarantees: every non-public route declares auth; the OpenAPI document builds."""

from __future__ import annotations

import pytest

from medianest.media_store.app import create_app

pytestmark = [pytest.mark.media_store]

PUBLIC = {"/"}


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
