"""Entity CRUD, lists, collections and permissions over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import WRITER_ID, Store, StoreFactory

pytestmark = [pytest.mark.media_store]


def test_upload_creates_entity_with_extracted_metadata(store: Store, jpeg_with_exif: bytes) -> None:
    resp = store.upload(jpeg_with_exif, label="Eiffel", description="trip")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["label"] == "Eiffel"
    assert body["added_by"] == body["updated_by"] == WRITER_ID
    assert (body["type"], body["extension"], body["mime_type"]) == ("image", "jpg", "image/jpeg")
    assert (body["width"], body["height"]) == (480, 640)  # orientation 6 swaps the sides
    assert body["create_date"] == 1685613600000  # 2023-06-01 12:00:00 +02:00 in UTC
    assert body["create_date_source"] == "EXIF:DateTimeOriginal"
    assert body["camera_make"] == "Canon"
    assert body["latitude"] == pytest.approx(48.8584, abs=1e-3)
    assert body["file_path"] == f"files/{body['sha256'][:2]}/{body['sha256'][2:4]}/{body['sha256']}"
    assert len(body["md5"]) == 32
    assert len(body["phash"]) == 16
    assert body["original_filename"] == "photo.jpg"
    assert store.client.get(f"/entity/{body['id']}").json() == body


def test_collection_has_children_count_and_no_file(store: Store) -> None:
    album = store.collection("album")
    assert album["children_count"] == 0
    store.media(seed=1, parent_id=album["id"])
    store.media(seed=2, parent_id=album["id"])
    assert store.client.get(f"/entity/{album['id']}").json()["children_count"] == 2
    assert store.client.get(f"/entity/{album['id']}/file").status_code == 404


def test_collection_with_file_and_media_without_file_are_rejected(store: Store) -> None:
    resp = store.upload(mf.jpeg_bytes(seed=4), is_collection="true")
    assert resp.status_code == 422
    resp = store.client.post("/entity/", data={"is_collection": "false"}, headers=store.writer)
    assert resp.status_code == 422
    resp = store.client.post("/entity/", data={"label": "x"}, headers=store.writer)
    assert resp.status_code == 422


def test_oversize_label_is_rejected(store: Store) -> None:
    resp = store.client.post(
        "/entity/", data={"is_collection": "true", "label": "x" * 256}, headers=store.writer
    )
    assert resp.status_code == 422
    album = store.collection()
    assert store.patch(album["id"], label="y" * 256).status_code == 422


def test_parent_must_exist_be_a_live_collection(store: Store) -> None:
    media = store.media(seed=5)
    trashed = store.collection("trash")
    store.patch(trashed["id"], is_deleted=True)
    for parent in (9999, media["id"], trashed["id"]):
        resp = store.client.post(
            "/entity/", data={"is_collection": "true", "parent_id": parent}, headers=store.writer
        )
        assert resp.status_code == 422, (parent, resp.text)


def test_parent_loops_are_refused(store: Store) -> None:
    a = store.collection("a")
    b = store.collection("b", parent_id=a["id"])
    c = store.collection("c", parent_id=b["id"])
    assert store.patch(a["id"], parent_id=c["id"]).status_code == 409
    assert store.patch(a["id"], parent_id=a["id"]).status_code == 409
    assert store.patch(c["id"], parent_id=a["id"]).status_code == 200


def test_collections_nest_at_most_ten_levels(store: Store) -> None:
    chain: list[int] = []
    for level in range(10):
        extra = {"parent_id": chain[-1]} if chain else {}
        chain.append(store.collection(f"level{level + 1}", **extra)["id"])
    resp = store.client.post(
        "/entity/", data={"is_collection": "true", "parent_id": chain[-1]}, headers=store.writer
    )
    assert resp.status_code == 422
    sub = store.collection("sub")
    store.collection("subsub", parent_id=sub["id"])
    assert store.patch(sub["id"], parent_id=chain[8]).status_code == 422  # subsub at level 11
    assert store.patch(sub["id"], parent_id=chain[7]).status_code == 200


def test_patch_changes_only_sent_keys_and_null_clears(store: Store) -> None:
    entity = store.media(seed=6, label="keep", description="old")
    resp = store.patch(entity["id"], description=None)
    assert resp.status_code == 200
    assert (resp.json()["label"], resp.json()["description"]) == ("keep", None)
    assert (
        store.client.patch(
            f"/entity/{entity['id']}", json={"body": {"bogus": 1}}, headers=store.writer
        ).status_code
        == 422
    )


def test_soft_delete_hides_from_list_and_restore_brings_back(store: Store) -> None:
    entity = store.media(seed=7)
    assert store.patch(entity["id"], is_deleted=True).json()["is_deleted"] is True
    ids = [e["id"] for e in store.client.get("/entity/").json()["items"]]
    assert entity["id"] not in ids
    listed = store.client.get("/entity/", params={"include_deleted": True}).json()["items"]
    assert entity["id"] in [e["id"] for e in listed]
    assert store.patch(entity["id"], is_deleted=False).json()["is_deleted"] is False


def test_put_replaces_fields_and_keeps_is_collection_immutable(store: Store) -> None:
    entity = store.media(seed=8, label="a", description="d")
    resp = store.client.put(
        f"/entity/{entity['id']}", data={"is_collection": "false", "label": "b"},
        headers=store.writer,
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert (resp.json()["label"], resp.json()["description"]) == ("b", None)
    assert resp.json()["md5"] == entity["md5"]
    resp = store.client.put(
        f"/entity/{entity['id']}", data={"is_collection": "true"}, headers=store.writer
    )
    assert resp.status_code == 422


def test_put_with_new_file_reextracts_metadata(store: Store) -> None:
    entity = store.media(seed=9)
    png = mf.png_bytes(size=(200, 100), seed=9)
    resp = store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("new.png", png, "image/png")},
        headers=store.writer,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["mime_type"], body["width"], body["height"]) == ("image/png", 200, 100)
    assert body["original_filename"] == "new.png"
    assert body["md5"] != entity["md5"]


def test_hard_delete_removes_entity(store: Store) -> None:
    entity = store.media(seed=10)
    assert store.client.delete(f"/entity/{entity['id']}", headers=store.writer).status_code == 204
    assert store.client.get(f"/entity/{entity['id']}").status_code == 404
    assert store.client.delete(f"/entity/{entity['id']}", headers=store.writer).status_code == 404


def test_non_empty_collection_cannot_be_hard_deleted(store: Store) -> None:
    album = store.collection()
    store.media(seed=11, parent_id=album["id"])
    assert store.client.delete(f"/entity/{album['id']}", headers=store.writer).status_code == 409


def test_delete_all_is_admin_only(store: Store) -> None:
    album = store.collection()
    store.media(seed=12, parent_id=album["id"])
    assert store.client.delete("/entity/", headers=store.writer).status_code == 403
    resp = store.client.delete("/entity/", headers=store.admin)
    assert resp.status_code == 200
    assert resp.json() == {"deleted": 2}
    assert store.client.get("/entity/").json()["pagination"]["total_items"] == 0


def test_writes_need_write_permission(store: Store) -> None:
    resp = store.client.post("/entity/", data={"is_collection": "true"})
    assert resp.status_code == 401
    resp = store.client.post("/entity/", data={"is_collection": "true"}, headers=store.reader)
    assert resp.status_code == 403


def test_read_auth_switch_is_admin_only_and_enforced(store: Store) -> None:
    assert store.client.get("/admin/config", headers=store.writer).status_code == 403
    assert store.client.get("/admin/config", headers=store.admin).json() == {
        "read_auth_enabled": False
    }
    assert store.client.get("/entity/").status_code == 200
    resp = store.client.put("/admin/config/read-auth", json={"enabled": True}, headers=store.admin)
    assert resp.json() == {"read_auth_enabled": True}
    assert store.client.get("/entity/").status_code == 401
    assert store.client.get("/entity/", headers=store.writer).status_code == 403
    assert store.client.get("/entity/", headers=store.reader).status_code == 200
    assert store.client.get("/changes", headers=store.reader).status_code == 200


def test_read_auth_survives_restart(make_store: StoreFactory) -> None:
    first = make_store()
    first.client.put("/admin/config/read-auth", json={"enabled": True}, headers=first.admin)
    second = make_store()
    assert second.client.get("/entity/").status_code == 401
