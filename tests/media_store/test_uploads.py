"""Uploads: duplicates, racing uploads, bad input, limits, file names, disk full."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from medianest.media_store import upload as upload_module
from medianest.media_store.storage import Storage
from tests.media_store import media_factory as mf
from tests.media_store.conftest import LiveStore, Store, StoreFactory

pytestmark = [pytest.mark.media_store]


def _files_on_disk(store: Store) -> list[Path]:
    root = store.settings.home / "media_store"
    return [p for p in (root / "files").rglob("*") if p.is_file()]


def _temp_files(store: Store) -> list[Path]:
    return list((store.settings.home / "media_store" / "tmp").iterdir())


def test_duplicate_upload_returns_existing_entity(store: Store) -> None:
    data = mf.jpeg_bytes(seed=40)
    first = store.upload(data, label="first")
    second = store.upload(data, label="second", filename="copy.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["label"] == "first"
    assert len(_files_on_disk(store)) == 1
    assert _temp_files(store) == []


def test_duplicate_of_trashed_entity_says_it_is_deleted(store: Store) -> None:
    data = mf.jpeg_bytes(seed=41)
    first = store.upload(data).json()
    store.patch(first["id"], is_deleted=True)
    again = store.upload(data)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["is_deleted"] is True


def test_put_with_content_of_another_entity_is_409_naming_it(store: Store) -> None:
    a = store.media(seed=42)
    b = store.media(seed=43)
    resp = store.client.put(
        f"/entity/{b['id']}",
        data={"is_collection": "false"},
        files={"image": ("a.jpg", mf.jpeg_bytes(seed=42, size=(320, 240)), "image/jpeg")},
        headers=store.writer,
    )
    assert resp.status_code == 409
    assert str(a["id"]) in resp.json()["detail"]


def test_racing_identical_uploads_create_one_entity(store: Store) -> None:
    data = mf.jpeg_bytes(seed=44, size=(800, 600))
    results: list[httpx.Response] = []

    def upload() -> None:
        results.append(store.upload(data))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1
    total = store.client.get("/entity/").json()["pagination"]["total_items"]
    assert total == 1
    assert len([c for c in store.changes() if c["op"] == "created"]) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 422),
        (mf.truncated_jpeg(mf.jpeg_bytes(seed=45)), 422),
        (mf.TEXT_BYTES, 415),
        (mf.SVG_BYTES, 415),
        (b"<html><script>alert(1)</script></html>", 415),
        (b"%PDF-1.4\n" + bytes(200), 415),
        (mf.ZIP_BYTES, 415),
    ],
    ids=["empty", "truncated-jpeg", "text", "svg", "html", "pdf", "zip"],
)
def test_bad_content_is_refused_and_nothing_stored(store: Store, data: bytes, status: int) -> None:
    resp = store.upload(data, filename="innocent.jpg")
    assert resp.status_code == status, resp.text
    assert isinstance(resp.json()["detail"], str)
    assert store.client.get("/entity/").json()["pagination"]["total_items"] == 0
    assert _files_on_disk(store) == []
    assert _temp_files(store) == []
    assert store.changes() == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\me\\IMG_1.jpg", "IMG_1.jpg"),
        ("фото 🌅.jpg", "фото 🌅.jpg"),
        ("..", None),
        ("x" * 300 + ".jpg", "x" * 196 + ".jpg"),
    ],
)
def test_original_filename_is_sanitised(store: Store, sent: str, kept: str | None) -> None:
    resp = store.upload(mf.jpeg_bytes(seed=46, size=(64, 48)), filename=sent)
    assert resp.status_code == 201, resp.text
    assert resp.json()["original_filename"] == kept


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("bad\x00\x1f\u202ename.jpg", "badname.jpg"),
        ("a/b\\c.jpg", "c.jpg"),
        ("", None),
        (" . ", None),
    ],
)
def test_sanitize_filename_drops_controls_and_paths(sent: str, kept: str | None) -> None:
    assert upload_module.sanitize_filename(sent) == kept


def test_upload_over_limit_is_413_and_leaves_nothing(make_store: StoreFactory) -> None:
    store = make_store(max_upload_bytes=10_000)
    resp = store.upload(mf.jpeg_bytes(seed=47, size=(640, 480)))
    assert resp.status_code == 413
    assert _temp_files(store) == []


def test_declared_length_over_limit_is_refused_before_reading(make_store: StoreFactory) -> None:
    store = make_store(max_upload_bytes=1000)

    def body() -> bytes:
        return b"--b\r\n"

    resp = store.client.post(
        "/entity/",
        content=body(),
        headers={
            **store.writer,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(50 * 1024 * 1024),
        },
    )
    assert resp.status_code == 413


def test_disk_full_is_507_and_temp_removed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_self: object, _chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(upload_module._FormSink, "_write_file", full)
    resp = store.upload(mf.jpeg_bytes(seed=48))
    assert resp.status_code == 507
    assert _temp_files(store) == []
    assert store.client.get("/entity/").json()["pagination"]["total_items"] == 0


class _FullDiskFile:
    """A spool file on a full disk: writes fail, and so does the flush when it is closed."""

    def __init__(self, real: object) -> None:
        self.real = real

    def write(self, _chunk: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        self.real.close()  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_buffered_data_remains_is_507_and_temp_removed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the abort's close re-raised ENOSPC, giving a 500 and leaving the temp file."""
    real_open = upload_module._FormSink._open_file

    def open_on_full_disk(sink: upload_module._FormSink) -> None:
        real_open(sink)
        sink._part.out = _FullDiskFile(sink._part.out)

    monkeypatch.setattr(upload_module._FormSink, "_open_file", open_on_full_disk)
    resp = store.upload(mf.jpeg_bytes(seed=49))
    assert resp.status_code == 507, resp.text
    assert _temp_files(store) == []
    assert store.client.get("/entity/").json()["pagination"]["total_items"] == 0


def test_disk_full_while_writing_renditions_removes_the_placed_original(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the original was moved into place before the renditions failed, and stayed."""
    kept = store.media(seed=51)

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Storage, "write_rendition", full)
    resp = store.upload(mf.jpeg_bytes(seed=52))
    assert resp.status_code == 507, resp.text
    assert [p.name for p in _files_on_disk(store)] == [kept["sha256"]]
    assert _temp_files(store) == []
    renditions = store.settings.home / "media_store" / "renditions"
    assert {p.name.split(".", 1)[0] for p in renditions.iterdir()} == {kept["sha256"]}
    assert store.client.get("/entity/").json()["pagination"]["total_items"] == 1


def test_non_multipart_body_is_415(store: Store) -> None:
    resp = store.client.post("/entity/", json={"is_collection": True}, headers=store.writer)
    assert resp.status_code == 415


@pytest.mark.parametrize(("container", "mime"), [("mp4", "video/mp4"), ("mov", "video/quicktime")])
def test_video_upload_has_duration_and_poster(
    store: Store, tmp_path: Path, container: mf.VideoContainer, mime: str
) -> None:
    if not mf.ffmpeg_available():
        pytest.skip("ffmpeg missing")
    path = mf.video_file(tmp_path / f"clip.{container}", container, duration=1.0)
    resp = store.upload(path.read_bytes(), filename=path.name)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["type"], body["mime_type"]) == ("video", mime)
    assert body["duration"] == pytest.approx(1.0, abs=0.2)
    assert (body["width"], body["height"]) == (320, 240)
    assert body["phash"] is not None
    thumb = store.client.get(f"/entity/{body['id']}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"].startswith("image/")


FORMATS: dict[str, tuple[Callable[[], bytes], str | None]] = {
    "png": (lambda: mf.png_bytes(size=(120, 90), seed=110), "image/png"),
    "webp": (lambda: mf.webp_bytes(size=(120, 90), seed=111), "image/webp"),
    "gif": (lambda: mf.gif_bytes(size=(120, 90), seed=112), "image/gif"),
    "tiff": (lambda: mf.tiff_bytes(size=(120, 90), seed=113), "image/tiff"),
    "heic": (lambda: mf.heic_bytes(), "image/heic"),
    "dng": (lambda: mf.raw_bytes("dng"), None),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_supported_image_formats_are_stored(store: Store, name: str) -> None:
    if name == "heic" and not mf.heic_supported():
        pytest.skip("no HEIC encoder")
    make, mime = FORMATS[name]
    resp = store.upload(make(), filename=f"picture.{name}")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["type"] == "image"
    if mime:
        assert body["mime_type"] == mime
    assert store.client.get(f"/entity/{body['id']}/thumbnail").status_code == 200


def test_client_vanishing_mid_upload_leaves_no_temp_file(live_store: LiveStore) -> None:
    host, port = live_store.url.removeprefix("http://").split(":")
    token = live_store.store.writer["Authorization"]
    head = (
        f"POST /entity/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 50000000\r\n\r\n"
        '--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n'
    ).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + b"\xff\xd8\xff" + bytes(3 << 20))
        time.sleep(0.5)
    tmp = live_store.store.settings.home / "media_store" / "tmp"
    deadline = time.monotonic() + 10
    while list(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp.iterdir()) == []
    assert httpx.get(f"{live_store.url}/entity/").status_code == 200


def test_empty_file_input_counts_as_no_file(store: Store) -> None:
    resp = store.client.post(
        "/entity/",
        data={"is_collection": "true", "label": "from a browser form"},
        files={"image": ("", b"", "application/octet-stream")},
        headers=store.writer,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["is_collection"] is True
