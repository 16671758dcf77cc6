"""The store's file behaviour on both storages: the local folder and an S3 bucket (a real S3 API:
moto's standalone server). Uploads, dedupe, downloads with Range, renditions, versions, removal
after delete, the orphan sweep; then S3 only: multipart uploads, presigned redirects, and a bucket
that goes away mid-upload (503 + Retry-After, nothing half-written, nothing lost)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.cli.backup.archive import read_manifest
from medianest.cli.backup.backup import run_backup
from medianest.cli.backup.databases import DatabaseRef
from medianest.cli.backup.layout import Installation
from medianest.cli.backup.restore import RestoreRefused, run_restore
from medianest.media_store.storage import FileStorage, Storage
from medianest.media_store.storage_s3 import S3Storage
from tests.conftest import DatabaseFactory
from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory
from tests.media_store.s3 import S3Server, moto_server

pytestmark = [pytest.mark.media_store, pytest.mark.integration]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@dataclass
class Files:
    """What is in the storage, seen directly (folder or bucket), by store-relative name."""

    root: Path | None
    s3: S3Server | None = None
    bucket: str = ""
    prefix: str = "library"

    def names(self, sub: str) -> list[str]:
        if self.root is not None:
            folder = self.root / sub
            return sorted(
                p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file()
            )
        assert self.s3 is not None
        keys = self.s3.keys(self.bucket, f"{self.prefix}/{sub}/")
        return sorted(k.removeprefix(f"{self.prefix}/") for k in keys)

    def exists(self, name: str) -> bool:
        return name in self.names(name.split("/", 1)[0])

    def write(self, name: str, data: bytes) -> None:
        if self.root is not None:
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_bytes(data)
            return
        assert self.s3 is not None
        self.s3.client().put_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}", Body=data)


@dataclass
class Backend:
    store: Store
    files: Files
    make: StoreFactory
    kind: str


@pytest.fixture(params=["local", "s3"])
def backend(
    request: pytest.FixtureRequest,
    make_store: StoreFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Backend:
    if request.param == "local":
        store = make_store()
        return Backend(store, Files(store.settings.home / "media_store"), make_store, "local")
    return _s3_backend(request.getfixturevalue("s3_server"), make_store, monkeypatch, tmp_path)


@pytest.fixture
def s3_backend(
    s3_server: S3Server, make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Backend:
    return _s3_backend(s3_server, make_store, monkeypatch, tmp_path)


def _s3_backend(
    server: S3Server, make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Backend:
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    bucket = server.new_bucket()
    url = f"s3://{bucket}/library"

    def make(**overrides: object) -> Store:
        return make_store(storage_url=url, **overrides)

    store = make()
    assert not (tmp_path / "home" / "media_store" / "files").exists()
    return Backend(store, Files(None, server, bucket), make, "s3")


def test_upload_download_and_ranges(backend: Backend) -> None:
    data = mf.jpeg_bytes(seed=300, size=(640, 480))
    entity = backend.store.upload(data).json()
    client = backend.store.client
    assert backend.files.exists(entity["file_path"])
    whole = client.get(f"/entity/{entity['id']}/file")
    assert whole.status_code == 200
    assert whole.content == data
    part = client.get(f"/entity/{entity['id']}/file", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.content == data[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(data)}"
    tail = client.get(f"/entity/{entity['id']}/file", headers={"Range": "bytes=-50"})
    assert tail.content == data[-50:]
    bad = client.get(f"/entity/{entity['id']}/file", headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416
    head = client.head(f"/entity/{entity['id']}/file")
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(data)
    for kind in ("thumbnail", "preview"):
        resp = client.get(f"/entity/{entity['id']}/{kind}")
        assert resp.status_code == 200
        assert resp.headers["content-type"] in ("image/webp", "image/jpeg")
        assert resp.content[:4] == b"RIFF" or resp.content[:3] == b"\xff\xd8\xff"  # WebP / JPEG
    cached = client.get(
        f"/entity/{entity['id']}/file", headers={"If-None-Match": whole.headers["etag"]}
    )
    assert cached.status_code == 304


def test_identical_upload_is_stored_once(backend: Backend) -> None:
    data = mf.jpeg_bytes(seed=301)
    first = backend.store.upload(data)
    again = backend.store.upload(data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert backend.files.names("files") == [first.json()["file_path"]]


def test_old_versions_keep_their_file_and_delete_removes_it(backend: Backend) -> None:
    store = backend.store
    v1 = mf.jpeg_bytes(seed=302)
    entity = store.upload(v1).json()
    store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("p.png", mf.png_bytes(seed=302), "image/png")},
        headers=store.writer,
    )
    assert store.client.get(f"/entity/{entity['id']}/file", params={"version": 1}).content == v1
    assert len(backend.files.names("files")) == 2
    assert store.client.delete(f"/entity/{entity['id']}", headers=store.writer).status_code == 204
    assert backend.files.names("files") == []
    assert backend.files.names("renditions") == []


def test_sweep_removes_orphans_only(backend: Backend) -> None:
    store = backend.store
    kept = store.media(seed=303)
    backend.files.write("files/ab/cd/abcd" + "0" * 60, b"left behind by a crash")
    backend.files.write("renditions/dcba" + "0" * 60 + ".thumb.webp", b"x")
    resp = store.client.post("/admin/sweep", params={"min_age_s": 0}, headers=store.admin)
    assert resp.status_code == 200
    assert resp.json()["files_removed"] == 1
    assert resp.json()["renditions_removed"] == 1
    assert backend.files.names("files") == [kept["file_path"]]
    assert store.client.get(f"/entity/{kept['id']}/thumbnail").status_code == 200


def _large_jpeg(size: int) -> bytes:
    """A valid JPEG followed by ``size`` random bytes (decoders stop at the end marker)."""
    return mf.jpeg_bytes(seed=304) + os.urandom(size)


def test_large_upload_goes_up_in_parts(s3_backend: Backend) -> None:
    backend = s3_backend
    store = backend.make(s3_part_size_mib=5)
    data = _large_jpeg(11 * 1024 * 1024)
    entity = store.upload(data).json()
    assert entity["sha256"] == hashlib.sha256(data).hexdigest()
    files = backend.files
    assert files.s3 is not None
    head = files.s3.client().head_object(
        Bucket=files.bucket, Key=f"{files.prefix}/{entity['file_path']}"
    )
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 1 MiB parts
    resp = store.client.get(f"/entity/{entity['id']}/file", headers={"Range": "bytes=9000000-"})
    assert resp.content == data[9_000_000:]
    assert list((store.settings.home / "media_store" / "tmp").iterdir()) == []


def test_presigned_downloads_redirect_to_the_bucket(s3_backend: Backend) -> None:
    backend = s3_backend
    store = backend.make(s3_presigned_downloads=True)
    data = mf.jpeg_bytes(seed=305)
    entity = store.upload(data).json()
    resp = store.client.get(f"/entity/{entity['id']}/file", follow_redirects=False)
    assert resp.status_code == 307
    fetched = httpx.get(resp.headers["location"])
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["content-type"] == "image/jpeg"


def test_bucket_gone_mid_upload_is_503_and_leaves_nothing(s3_backend: Backend) -> None:
    backend = s3_backend
    store, files = backend.store, backend.files
    assert files.s3 is not None
    kept = store.media(seed=306)
    files.s3.empty_and_delete(files.bucket)
    data = mf.jpeg_bytes(seed=307)
    resp = store.upload(data)
    assert resp.status_code == 503
    assert resp.headers["retry-after"]
    assert "object storage" in resp.json()["detail"]
    listed = store.client.get("/entity/").json()["items"]
    assert [e["id"] for e in listed] == [kept["id"]]  # no entity for the failed upload
    assert list((store.settings.home / "media_store" / "tmp").iterdir()) == []
    files.s3.client().create_bucket(Bucket=files.bucket)  # the bucket is back (empty)
    assert files.names("files") == []  # nothing half-written
    retry = store.upload(data)
    assert retry.status_code == 201
    assert files.names("files") == [retry.json()["file_path"]]
    download = store.client.get(f"/entity/{kept['id']}/file")
    assert download.status_code == 404  # its bytes went with the bucket: said, not hidden


def test_backup_and_restore_through_the_storage(
    backend: Backend, db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    store = backend.store
    entities = [store.media(seed=s) for s in (310, 311)]
    source = _installation(store.settings.db_url(), store.settings.home, _storage_of(store))
    dest = tmp_path / "backup"
    first = run_backup(source, dest)
    assert first.copied_files == 6  # two originals, four renditions
    again = run_backup(source, dest)
    assert (again.copied_files, again.skipped_files) == (0, 6)  # never copied twice
    if backend.kind == "s3":
        assert backend.files.s3 is not None
        bucket = backend.files.s3.new_bucket()
        target_storage: FileStorage = S3Storage(f"s3://{bucket}/library", tmp_path / "spool")
    else:
        target_storage = Storage(tmp_path / "restored" / "media_store")
    target = _installation(db_factory.empty_url(), tmp_path / "restored", target_storage)
    result = run_restore(target, dest)
    assert result.files == 6
    stored = {name: size for name, size, _ in target_storage.list_stored()}
    assert stored == {name: size for name, size, _ in source.storage.list_stored()}
    for entity in entities:
        with target_storage.open_stored(entity["file_path"]) as restored:
            assert hashlib.sha256(restored.read()).hexdigest() == entity["sha256"]
    with pytest.raises(RestoreRefused, match="already holds data"):
        run_restore(target, dest)


def test_an_interrupted_backup_resumes_without_copying_again(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = backend.store
    for seed in (320, 321):
        store.media(seed=seed)
    source = _installation(store.settings.db_url(), store.settings.home, _storage_of(store))
    dest = tmp_path / "backup"
    opened = source.storage.open_stored
    calls = 0

    def interrupted_after_three(name: str) -> Any:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise KeyboardInterrupt  # Ctrl-C (or a crash) in the middle of the copy
        return opened(name)

    monkeypatch.setattr(source.storage, "open_stored", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        run_backup(source, dest)
    assert read_manifest(dest) is None  # no manifest: that run is not a backup
    monkeypatch.setattr(source.storage, "open_stored", opened)
    resumed = run_backup(source, dest)
    assert (resumed.copied_files, resumed.skipped_files) == (3, 3)
    assert len(resumed.manifest.media) == 6


def _installation(db_url: str, home: Path, storage: FileStorage) -> Installation:
    return Installation(
        home=home, databases=[DatabaseRef("media_store", db_url)],
        store_root=home / "media_store", vectors_dir=home / "vectors", qdrant_url=None,
        urls={}, max_attempts=3, storage=storage,
    )  # fmt: skip


def _storage_of(store: Store) -> FileStorage:
    app: Any = store.client.app
    storage: FileStorage = app.state.store.storage
    return storage
