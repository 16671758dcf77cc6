"""How ``medianest upload`` decides what to send: walking, skipping, hashing, local copies
(the store is replaced by httpx.MockTransport here; the real run is in the CLI tests)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from medianest.client import MediaNestClient
from medianest.client.upload import Status, Uploader, collect, md5_of

pytestmark = [pytest.mark.unit]


def test_collect_walks_trees_skips_hidden_and_non_media(tmp_path: Path) -> None:
    (tmp_path / "a" / ".cache").mkdir(parents=True)
    (tmp_path / "a" / "one.JPG").write_bytes(b"1")
    (tmp_path / "a" / ".hidden.jpg").write_bytes(b"2")
    (tmp_path / "a" / ".cache" / "x.jpg").write_bytes(b"3")
    (tmp_path / "a" / "clip.mov").write_bytes(b"4")
    (tmp_path / "a" / "readme.md").write_text("5")
    files, outcomes = collect([tmp_path / "a", tmp_path / "a" / "one.JPG", tmp_path / "gone"])
    assert [f.path.name for f in files] == ["clip.mov", "one.JPG"]
    assert {(o.path.name, o.status, o.reason) for o in outcomes} == {
        ("readme.md", Status.skipped, "not a media file"),
        ("gone", Status.failed, "no such file or directory"),
    }


def test_md5_matches_hashlib_for_multi_chunk_files(tmp_path: Path) -> None:
    data = bytes(range(256)) * 20_000
    (tmp_path / "big.jpg").write_bytes(data)
    seen: list[int] = []
    assert md5_of(tmp_path / "big.jpg", seen.append) == hashlib.md5(data).hexdigest()
    assert sum(seen) == len(data)


def test_only_unknown_content_is_uploaded_once_per_hash(tmp_path: Path) -> None:
    for name, content in [("a.jpg", b"A"), ("b.jpg", b"B"), ("b-copy.jpg", b"B"), ("c.png", b"C")]:
        (tmp_path / name).write_bytes(content)
    known = hashlib.md5(b"A").hexdigest()
    uploaded: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/entity/lookup":
            hashes = json.loads(request.content)["hashes"]
            results = [
                {
                    "hash": h,
                    "known": h == known,
                    "entity_id": 1 if h == known else None,
                    "is_deleted": False,
                }
                for h in hashes
            ]
            return httpx.Response(200, json={"results": results})
        body = request.read()
        uploaded.append(body)
        if b'filename="c.png"' in body:
            return httpx.Response(415, json={"detail": "unsupported media type"})
        return httpx.Response(201, json={"id": 2, "is_collection": False})

    client = MediaNestClient(
        "http://a", "http://s", "http://i", transport=httpx.MockTransport(handler)
    )
    summary = Uploader(client, concurrency=3, show_progress=False).run([tmp_path])
    by_name = {o.path.name: o for o in summary.outcomes}
    assert by_name["a.jpg"].status is Status.skipped
    assert {by_name["b-copy.jpg"].status, by_name["b.jpg"].status} == {
        Status.uploaded,
        Status.duplicate,
    }
    assert by_name["c.png"].status is Status.failed
    assert by_name["c.png"].reason == "415: unsupported media type"
    assert len(uploaded) == 2
    counts = summary.as_dict()
    assert (counts["uploaded"], counts["duplicate"], counts["skipped"], counts["failed"]) == (
        1,
        1,
        1,
        1,
    )
