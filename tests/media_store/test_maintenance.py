"""Files are removed only after commit and only when unreferenced; the orphan sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory

pytestmark = [pytest.mark.media_store]


def _root(store: Store) -> Path:
    return store.settings.home / "media_store"


def _original(store: Store, entity: dict[str, str]) -> Path:
    return _root(store) / entity["file_path"]


def test_hard_delete_removes_file_and_renditions(store: Store) -> None:
    entity = store.media(seed=100)
    path = _original(store, entity)
    assert path.exists()
    assert len(list((_root(store) / "renditions").glob(f"{entity['sha256']}.*"))) == 2
    store.client.delete(f"/entity/{entity['id']}", headers=store.writer)
    assert not path.exists()
    assert list((_root(store) / "renditions").glob(f"{entity['sha256']}.*")) == []
    assert (
        store.client.post("/entity/lookup", json={"hashes": [entity["md5"]]}).json()["results"][0][
            "known"
        ]
        is False
    )


def test_file_still_referenced_by_another_entity_version_is_kept(store: Store) -> None:
    data = mf.jpeg_bytes(seed=101)
    a = store.upload(data).json()
    store.client.put(
        f"/entity/{a['id']}",
        data={"is_collection": "false"},
        files={"image": ("p.png", mf.png_bytes(seed=101), "image/png")},
        headers=store.writer,
    )
    b = store.upload(data).json()  # same bytes as a's version 1, now its own entity
    assert b["id"] != a["id"]
    store.client.delete(f"/entity/{b['id']}", headers=store.writer)
    assert _original(store, b).exists()  # a's version 1 still needs it
    assert store.client.get(f"/entity/{a['id']}/file", params={"version": 1}).content == data
    store.client.delete(f"/entity/{a['id']}", headers=store.writer)
    assert not _original(store, b).exists()


def test_delete_all_removes_every_file(store: Store) -> None:
    for seed in (102, 103):
        store.media(seed=seed)
    store.client.delete("/entity/", headers=store.admin)
    assert [p for p in (_root(store) / "files").rglob("*") if p.is_file()] == []
    assert list((_root(store) / "renditions").iterdir()) == []


def test_sweep_removes_orphans_only(store: Store) -> None:
    kept = store.media(seed=104)
    orphan = _root(store) / "files" / "ab" / "cd" / ("abcd" + "0" * 60)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind by a crash")
    (_root(store) / "renditions" / ("dcba" + "0" * 60 + ".thumb.webp")).write_bytes(b"x")
    (_root(store) / "tmp" / "crashed.part").write_bytes(b"partial")
    assert store.client.post("/admin/sweep", headers=store.writer).status_code == 403
    resp = store.client.post("/admin/sweep", params={"min_age_s": 0}, headers=store.admin)
    assert resp.status_code == 200
    assert resp.json() == {"files_removed": 1, "renditions_removed": 1, "temp_files_removed": 1,
                           "metadata_rows_removed": 0}  # fmt: skip
    assert not orphan.exists()
    assert _original(store, kept).exists()
    assert store.client.get(f"/entity/{kept['id']}/thumbnail").status_code == 200


def test_sweep_runs_at_start(make_store: StoreFactory) -> None:
    first = make_store()
    orphan = _root(first) / "files" / "ef" / "01" / ("ef01" + "1" * 60)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    make_store()
    assert not orphan.exists()


def test_young_orphans_survive_the_sweep(make_store: StoreFactory) -> None:
    store = make_store(sweep_min_age_s=3600)
    orphan = _root(store) / "files" / "12" / "34" / ("1234" + "2" * 60)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"maybe an upload in flight")
    resp = store.client.post("/admin/sweep", headers=store.admin)
    assert resp.json()["files_removed"] == 0
    assert orphan.exists()
