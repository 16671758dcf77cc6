"""Downloads: original bytes with ETag/Range, renditions, metadata, version files."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store]


def test_file_download_returns_original_bytes(store: Store, jpeg_with_exif: bytes) -> None:
    entity = store.upload(jpeg_with_exif, filename="Été 2023.jpg").json()
    resp = store.client.get(f"/entity/{entity['id']}/file")
    assert resp.status_code == 200
    assert resp.content == jpeg_with_exif
    assert resp.headers["content-type"] == "image/jpeg"
    assert resp.headers["etag"] == f'"{entity["md5"]}"'
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["accept-ranges"] == "bytes"
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert "filename*=UTF-8''%C3%89t%C3%A9%202023.jpg" in disposition
    download = store.client.get(f"/entity/{entity['id']}/file", params={"download": True})
    assert download.headers["content-disposition"].startswith("attachment;")


def test_if_none_match_gives_304(store: Store) -> None:
    entity = store.media(seed=50)
    resp = store.client.get(
        f"/entity/{entity['id']}/file", headers={"If-None-Match": f'"{entity["md5"]}"'}
    )
    assert resp.status_code == 304
    assert resp.content == b""
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_range_requests(store: Store) -> None:
    data = mf.jpeg_bytes(seed=51)
    entity = store.upload(data).json()
    url = f"/entity/{entity['id']}/file"
    part = store.client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = store.client.get(url, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    bad = store.client.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416
    assert bad.headers["x-content-type-options"] == "nosniff"
    assert bad.json() == {"detail": "range not satisfiable"}  # the documented error body
    assert bad.headers["content-range"] == f"bytes */{len(data)}"
    malformed = store.client.get(url, headers={"Range": "bytes=9-2"})
    assert malformed.status_code == 400
    assert isinstance(malformed.json()["detail"], str)
    assert malformed.headers["x-content-type-options"] == "nosniff"


def test_thumbnail_and_preview_are_oriented_and_sized(store: Store) -> None:
    jpeg = mf.jpeg_bytes(size=(2000, 1500), seed=52, exif=mf.ExifSpec(orientation=6))
    entity = store.upload(jpeg).json()
    thumb = store.client.get(f"/entity/{entity['id']}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) <= 300
        assert image.width < image.height
    preview = store.client.get(f"/entity/{entity['id']}/preview")
    assert preview.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (1080, 1440)


def test_metadata_endpoint_returns_exiftool_json(store: Store, jpeg_with_exif: bytes) -> None:
    entity = store.upload(jpeg_with_exif).json()
    meta = store.client.get(f"/entity/{entity['id']}/metadata")
    assert meta.status_code == 200
    body = meta.json()
    assert body["EXIF:Make"] == "Canon"
    assert "SourceFile" not in body
    assert "File:Directory" not in body


def test_old_version_file_stays_downloadable(store: Store) -> None:
    old = mf.jpeg_bytes(seed=53)
    entity = store.upload(old).json()
    new = mf.png_bytes(seed=53)
    resp = store.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("n.png", new, "image/png")},
        headers=store.writer,
    )
    assert resp.status_code == 200
    assert store.client.get(f"/entity/{entity['id']}/file").content == new
    first = store.client.get(f"/entity/{entity['id']}/file", params={"version": 1})
    assert first.content == old
    assert first.headers["etag"] == f'"{entity["md5"]}"'
    thumb = store.client.get(f"/entity/{entity['id']}/thumbnail", params={"version": 1})
    assert thumb.status_code == 200
    assert (
        store.client.get(f"/entity/{entity['id']}/file", params={"version": 9}).status_code == 404
    )


def test_files_follow_read_auth(store: Store) -> None:
    entity = store.media(seed=54)
    store.client.put("/admin/config/read-auth", json={"enabled": True}, headers=store.admin)
    assert store.client.get(f"/entity/{entity['id']}/file").status_code == 401
    resp = store.client.get(f"/entity/{entity['id']}/preview", headers=store.reader)
    assert resp.status_code == 200


def test_head_gives_the_headers_of_get_without_the_body(store: Store) -> None:
    data = mf.jpeg_bytes(seed=55)
    entity = store.upload(data).json()
    for kind in ("file", "thumbnail", "preview"):
        url = f"/entity/{entity['id']}/{kind}"
        got, head = store.client.get(url), store.client.head(url)
        assert head.status_code == 200
        assert head.content == b""
        for name in ("content-length", "content-type", "etag", "x-content-type-options"):
            assert head.headers[name] == got.headers[name], (kind, name)
    assert int(store.client.head(f"/entity/{entity['id']}/file").headers["content-length"]) == len(
        data
    )
    store.client.put("/admin/config/read-auth", json={"enabled": True}, headers=store.admin)
    assert store.client.head(f"/entity/{entity['id']}/file").status_code == 401
    assert store.client.head("/entity/999999/file", headers=store.reader).status_code == 404
