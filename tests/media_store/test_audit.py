"""Integrity audit (bit rot, missing files, orphans) and the storage report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medianest.common.db import Database
from medianest.media_store import audit_repository as audit_repo
from medianest.media_store.feed import now_ms
from medianest.media_store.models import AuditRun
from medianest.media_store.storage import Storage
from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory
from tests.polling import wait_until

pytestmark = [pytest.mark.media_store]


def _path(store: Store, sha256: str) -> Path:
    return store.settings.store_root() / Storage.relative_path(sha256)


def _finished(store: Store, audit_id: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = store.client.get(
            f"/admin/audit/{audit_id}", headers=store.admin
        ).json()
        return body if body["status"] not in ("queued", "running") else None

    result: dict[str, Any] = wait_until(done, f"audit {audit_id} to finish", timeout=60)
    return result


def _audit(store: Store) -> dict[str, Any]:
    resp = store.client.post("/admin/audit", headers=store.admin)
    assert resp.status_code == 202, resp.text
    return _finished(store, resp.json()["id"])


def test_audit_finds_rot_missing_files_and_orphans(store: Store) -> None:
    originals = {seed: mf.jpeg_bytes(seed=seed, size=(160, 120)) for seed in (90, 91, 92)}
    rotten, lost, fine = (store.upload(data).json() for data in originals.values())
    path = _path(store, rotten["sha256"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: bit rot
    path.write_bytes(bytes(data))
    _path(store, lost["sha256"]).unlink()
    orphan = _path(store, "ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"nobody owns me")

    report = _audit(store)

    assert report["status"] == "done", report
    assert (report["missing"], report["corrupt"], report["orphans"]) == (1, 1, 1)
    assert report["progress"]["files_checked"] == report["progress"]["files_total"] == 2
    assert report["progress"]["fraction"] == 1.0
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert by_kind["corrupt"]["sha256"] == rotten["sha256"]
    assert by_kind["corrupt"]["entity_ids"] == [rotten["id"]]
    assert by_kind["corrupt"]["actual_sha256"] not in (None, rotten["sha256"])
    assert by_kind["missing"]["sha256"] == lost["sha256"]
    assert by_kind["orphan"]["sha256"] == "ab" * 32
    assert store.client.get("/admin/audit/latest", headers=store.admin).json()["id"] == report["id"]

    refused = store.client.get(f"/entity/{rotten['id']}/file")
    assert refused.status_code == 409
    assert "integrity" in refused.json()["detail"]
    assert (
        store.client.get(f"/entity/{rotten['id']}/file", params={"download": True}).status_code
        == 409
    )
    assert store.client.get(f"/entity/{lost['id']}/file").status_code == 404
    assert store.client.get(f"/entity/{fine['id']}/file").content == originals[92]
    assert store.client.get(f"/entity/{rotten['id']}/thumbnail").status_code == 200


def test_upload_of_the_same_bytes_repairs_rot(store: Store) -> None:
    original = mf.jpeg_bytes(seed=93, size=(160, 120))
    entity = store.upload(original).json()
    _path(store, entity["sha256"]).write_bytes(b"rotten")
    assert _audit(store)["corrupt"] == 1
    assert store.client.get(f"/entity/{entity['id']}/file").status_code == 409
    again = store.upload(original)
    assert again.status_code == 200
    assert again.json()["id"] == entity["id"]
    resp = store.client.get(f"/entity/{entity['id']}/file")
    assert resp.status_code == 200
    assert resp.content == original


def test_content_deleted_while_damaged_can_be_uploaded_again(store: Store) -> None:
    original = mf.jpeg_bytes(seed=98, size=(160, 120))
    entity = store.upload(original).json()
    _path(store, entity["sha256"]).write_bytes(b"rotten")
    assert _audit(store)["corrupt"] == 1
    assert store.client.delete(f"/entity/{entity['id']}", headers=store.writer).status_code == 204
    again = store.upload(original)
    assert again.status_code == 201, again.text
    assert store.client.get(f"/entity/{again.json()['id']}/file").content == original


def test_a_later_audit_clears_a_restored_file(store: Store) -> None:
    original = mf.jpeg_bytes(seed=94, size=(160, 120))
    entity = store.upload(original).json()
    path = _path(store, entity["sha256"])
    path.unlink()
    assert _audit(store)["missing"] == 1
    path.write_bytes(original)  # restored from a backup
    assert store.client.get(f"/entity/{entity['id']}/file").status_code == 409
    report = _audit(store)
    assert (report["missing"], report["corrupt"]) == (0, 0)
    assert store.client.get(f"/entity/{entity['id']}/file").content == original


def test_one_audit_at_a_time_and_dead_runs_expire(store: Store) -> None:
    db = Database(store.settings.db_url())
    try:
        with db.sessions() as session, session.begin():
            now = now_ms()
            run = audit_repo.add_run(session, AuditRun(
                status="running", trigger="manual", created_at=now, heartbeat_at=now,
                files_total=0, files_checked=0, bytes_total=0, bytes_checked=0, missing=0,
                corrupt=0, orphans=0,
            ))  # fmt: skip
            run_id = run.id
        busy = store.client.post("/admin/audit", headers=store.admin)
        assert busy.status_code == 409
        assert f"audit {run_id}" in busy.json()["detail"]
        with db.sessions() as session, session.begin():
            audit_repo.update_run(session, run_id, heartbeat_at=now - 10 * 60_000)
        started = store.client.post("/admin/audit", headers=store.admin)
        assert started.status_code == 202, started.text
        dead = store.client.get(f"/admin/audit/{run_id}", headers=store.admin).json()
        assert dead["status"] == "interrupted"
        assert _finished(store, started.json()["id"])["status"] == "done"
    finally:
        db.dispose()


def test_audits_run_on_schedule(make_store: StoreFactory) -> None:
    store = make_store(audit_interval_h=0.0003)  # about a second

    def scheduled() -> dict[str, Any] | None:
        resp = store.client.get("/admin/audit/latest", headers=store.admin)
        return resp.json() if resp.status_code == 200 else None

    run = wait_until(scheduled, "a scheduled audit", timeout=60)
    assert run["trigger"] == "schedule"
    assert run["requested_by"] is None


def test_audit_and_storage_routes_are_admin_only(store: Store) -> None:
    assert store.client.get("/admin/audit/latest", headers=store.admin).status_code == 404
    assert store.client.get("/admin/audit/99", headers=store.admin).status_code == 404
    for method, url in (
        ("POST", "/admin/audit"),
        ("GET", "/admin/audit/latest"),
        ("GET", "/admin/audit/1"),
        ("GET", "/admin/storage"),
    ):
        assert store.client.request(method, url, headers=store.writer).status_code == 403
        assert store.client.request(method, url).status_code == 401


def test_storage_report_splits_bytes_by_use(store: Store) -> None:
    live = store.upload(mf.jpeg_bytes(seed=95, size=(160, 120))).json()
    trashed = store.upload(mf.jpeg_bytes(seed=96, size=(160, 120))).json()
    store.patch(trashed["id"], is_deleted=True)
    changed = store.upload(mf.jpeg_bytes(seed=97, size=(160, 120))).json()
    resp = store.client.put(
        f"/entity/{changed['id']}",
        data={"is_collection": "false"},
        files={"image": ("n.png", mf.png_bytes(size=(64, 48), seed=97), "image/png")},
        headers=store.writer,
    )
    assert resp.status_code == 200, resp.text
    store.collection("album")
    stray = _path(store, "cd" * 32)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"x" * 10)

    report = store.client.get("/admin/storage", headers=store.admin).json()

    live_bytes = live["file_size"] + resp.json()["file_size"]
    assert report["originals"] == {"files": 2, "bytes": live_bytes}
    assert report["trash"] == {"files": 1, "bytes": trashed["file_size"]}
    assert report["old_versions"] == {"files": 1, "bytes": changed["file_size"]}
    assert report["unreferenced"] == {"files": 1, "bytes": 10}
    assert report["renditions"]["files"] >= 4
    assert report["streams"] == {"files": 0, "bytes": 0}
    assert (report["entities"], report["collections"], report["trashed_entities"]) == (4, 1, 1)
    parts = ("originals", "trash", "old_versions", "renditions", "streams", "unreferenced", "temp")
    assert report["total_bytes"] == sum(report[p]["bytes"] for p in parts)
