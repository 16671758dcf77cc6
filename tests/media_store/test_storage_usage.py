"""GET /admin/storage: what the library holds and what it costs on disk (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store, pytest.mark.integration]


def test_storage_usage_counts_media_trash_collections_and_bytes(store: Store) -> None:
    empty = store.client.get("/admin/storage", headers=store.admin)
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == 0
    assert empty.json()["originals_bytes"] == 0
    album = store.collection("Trips")
    first = store.media(seed=1, parent_id=album["id"])
    second = store.media(seed=2)
    assert store.patch(second["id"], is_deleted=True).status_code == 200
    replaced = store.client.put(
        f"/entity/{first['id']}",
        data={"is_collection": "false"},
        files={"image": ("new.jpg", mf.jpeg_bytes(seed=3, size=(320, 240)), "image/jpeg")},
        headers=store.writer,
    )
    assert replaced.status_code == 200, replaced.text

    usage = store.client.get("/admin/storage", headers=store.admin).json()
    assert (usage["items"], usage["trashed_items"], usage["collections"]) == (1, 1, 1)
    assert usage["stored_files"] == 3  # the replaced version's file is kept for restores
    sizes = first["file_size"] + second["file_size"] + replaced.json()["file_size"]
    assert usage["originals_bytes"] == sizes
    assert usage["renditions_bytes"] > 0
    assert 0 < usage["free_disk_bytes"] <= usage["total_disk_bytes"]


def test_storage_usage_is_for_admins_only(store: Store) -> None:
    assert store.client.get("/admin/storage").status_code == 401
    assert store.client.get("/admin/storage", headers=store.writer).status_code == 403
