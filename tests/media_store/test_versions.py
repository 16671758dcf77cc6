"""Versions: every change is one, listing with who/what, reading N, restoring N."""

from __future__ import annotations

import threading

import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import WRITER_ID, Store

pytestmark = [pytest.mark.media_store]


def test_every_change_is_a_version_with_who_and_what(store: Store, token_minter) -> None:  # type: ignore[no-untyped-def]
    entity = store.media(seed=60, label="a")
    other = token_minter.header(sub=99, permissions=["media_store_write"])
    store.client.patch(f"/entity/{entity['id']}", json={"body": {"label": "b"}}, headers=other)
    store.patch(entity["id"], is_deleted=True)
    store.patch(entity["id"], is_deleted=False)
    versions = store.client.get(f"/entity/{entity['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert [v["operation"] for v in versions] == ["created", "updated", "deleted", "updated"]
    assert [v["updated_by"] for v in versions] == [WRITER_ID, 99, WRITER_ID, WRITER_ID]
    assert versions[1]["changed_fields"] == ["label"]
    assert versions[2]["changed_fields"] == ["is_deleted"]
    assert "md5" in versions[0]["changed_fields"]
    assert store.client.get(f"/entity/{entity['id']}", params={"version": 1}).json()["label"] == "a"
    assert store.client.get(f"/entity/{entity['id']}", params={"version": 5}).status_code == 404
    assert store.client.get("/entity/999/versions").status_code == 404


def test_patch_without_changes_makes_no_version(store: Store) -> None:
    entity = store.media(seed=61, label="same")
    store.patch(entity["id"], label="same")
    assert len(store.client.get(f"/entity/{entity['id']}/versions").json()) == 1


def test_restore_makes_old_metadata_and_file_current(store: Store) -> None:
    old = mf.jpeg_bytes(seed=62)
    entity = store.upload(old, label="v1").json()
    store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false", "label": "v2"},
        files={"image": ("n.png", mf.png_bytes(seed=62), "image/png")},
        headers=store.writer,
    )
    resp = store.client.post(f"/entity/{entity['id']}/versions/1/restore", headers=store.writer)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["label"], body["md5"], body["mime_type"]) == ("v1", entity["md5"], "image/jpeg")
    assert store.client.get(f"/entity/{entity['id']}/file").content == old
    versions = store.client.get(f"/entity/{entity['id']}/versions").json()
    assert len(versions) == 3
    assert "md5" in versions[2]["changed_fields"]
    missing = store.client.post(f"/entity/{entity['id']}/versions/7/restore", headers=store.writer)
    assert missing.status_code == 404


def test_restore_of_content_now_owned_by_another_entity_is_409(store: Store) -> None:
    data = mf.jpeg_bytes(seed=63)
    entity = store.upload(data).json()
    store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("n.png", mf.png_bytes(seed=63), "image/png")},
        headers=store.writer,
    )
    store.upload(data)  # the old content is now a new entity
    resp = store.client.post(f"/entity/{entity['id']}/versions/1/restore", headers=store.writer)
    assert resp.status_code == 409


def test_racing_patches_all_become_versions(store: Store) -> None:
    entity = store.media(seed=64)
    statuses: list[int] = []

    def patch(n: int) -> None:
        statuses.append(store.patch(entity["id"], label=f"label {n}").status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    versions = store.client.get(f"/entity/{entity['id']}/versions").json()
    assert len(versions) == 9
    final = store.client.get(f"/entity/{entity['id']}").json()["label"]
    last = store.client.get(f"/entity/{entity['id']}", params={"version": 9}).json()["label"]
    assert final == last
    updates = [c for c in store.changes() if c["op"] == "updated"]
    assert sorted(c["version"] for c in updates) == list(range(2, 10))
