"""The media store's timeline for the web app (SQLite and PostgreSQL): month buckets by UTC
capture date, one month's media as parallel arrays, ThumbHash placeholders, and thumbnail URLs
that are cached as immutable while they name the current content."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import thumbhash
from PIL import Image

from medianest.common.db import normalise_url
from tests.media_store import conftest as store_fixtures
from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store, StoreFactory

pytestmark = [pytest.mark.media_store, pytest.mark.integration]

IMMUTABLE = "private, max-age=31536000, immutable"
make_store = store_fixtures.make_store  # the media store tests' app per test, on both backends


@pytest.fixture
def library(make_store: StoreFactory) -> Store:
    return make_store()


def _shot(store: Store, when: str, offset: str = "+00:00", seed: int = 0, **fields: Any) -> Any:
    """Upload a photo taken at ``when`` ("YYYY:MM:DD HH:MM:SS" local time at ``offset``)."""
    spec = mf.ExifSpec(date_time_original=when, offset_time_original=offset)
    resp = store.upload(mf.jpeg_bytes(exif=spec, size=(96, 64), seed=seed), **fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _buckets(store: Store, **params: Any) -> Any:
    resp = store.client.get("/timeline/buckets", params=params, headers=store.reader)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _bucket(store: Store, month: str, **params: Any) -> Any:
    resp = store.client.get(
        "/timeline/bucket", params={"month": month, **params}, headers=store.reader
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_buckets_are_utc_months_newest_first_without_collections_or_trash(library: Store) -> None:
    album = library.collection("Summer")
    _shot(library, "2024:03:05 10:00:00", seed=1)
    _shot(library, "2024:03:20 10:00:00", seed=2, parent_id=album["id"])
    # 00:30 on 1 April in UTC+02:00 is still 31 March in UTC
    _shot(library, "2024:04:01 00:30:00", offset="+02:00", seed=3)
    _shot(library, "2023:12:31 23:00:00", seed=4)
    trashed = _shot(library, "2022:07:01 12:00:00", seed=5)
    assert library.patch(trashed["id"], is_deleted=True).status_code == 200

    assert _buckets(library) == {
        "total": 4,
        "buckets": [{"month": "2024-03", "count": 3}, {"month": "2023-12", "count": 1}],
    }
    assert _buckets(library, is_deleted=True)["buckets"] == [{"month": "2022-07", "count": 1}]
    assert _buckets(library, parent_id=album["id"])["buckets"] == [{"month": "2024-03", "count": 1}]
    assert _buckets(library, type="video") == {"total": 0, "buckets": []}


def test_a_bucket_gives_parallel_arrays_newest_first(library: Store) -> None:
    early = _shot(library, "2021:05:02 08:00:00", seed=6, label="Breakfast")
    late = _shot(library, "2021:05:30 20:00:00", seed=7)
    _shot(library, "2021:06:01 00:00:00", seed=8)  # next month: not in May

    body = _bucket(library, "2021-05")
    assert body["month"] == "2021-05"
    assert body["count"] == 2
    assert body["ids"] == [late["id"], early["id"]]
    assert body["create_date"] == [late["create_date"], early["create_date"]]
    assert body["width"] == [96, 96]
    assert body["height"] == [64, 64]
    assert body["type"] == ["image", "image"]
    assert body["mime_type"] == ["image/jpeg", "image/jpeg"]
    assert body["duration"] == [None, None]
    assert body["label"] == [None, "Breakfast"]
    assert body["original_filename"] == ["photo.jpg", "photo.jpg"]
    assert body["token"] == [late["sha256"][:16], early["sha256"][:16]]
    assert body["token"] == [late["token"], early["token"]]
    assert body["thumbhash"] == [late["thumbhash"], early["thumbhash"]]
    assert body["is_deleted"] == [False, False]
    assert _bucket(library, "2021-04")["ids"] == []


def test_month_boundaries_are_exact_to_the_millisecond(library: Store) -> None:
    last = _shot(library, "2020:01:31 23:59:59", seed=9)
    first = _shot(library, "2020:02:01 00:00:00", seed=10)
    assert last["create_date"] + 1000 == first["create_date"]
    assert first["create_date"] == int(datetime(2020, 2, 1, tzinfo=UTC).timestamp() * 1000)
    assert _bucket(library, "2020-01")["ids"] == [last["id"]]
    assert _bucket(library, "2020-02")["ids"] == [first["id"]]
    before_epoch = _shot(library, "1969:12:31 23:59:59", seed=15)  # negative epoch ms
    assert before_epoch["create_date"] == -1000
    assert _bucket(library, "1969-12")["ids"] == [before_epoch["id"]]
    months = [b["month"] for b in _buckets(library)["buckets"]]
    assert months == ["2020-02", "2020-01", "1969-12"]


def test_a_malformed_month_is_a_422(library: Store) -> None:
    for month in ("2024-13", "2024-00", "24-01", "2024-1", "0999-01", "x", ""):
        resp = library.client.get(
            "/timeline/bucket", params={"month": month}, headers=library.reader
        )
        assert resp.status_code == 422, month
        assert "detail" in resp.json()
    assert library.client.get("/timeline/bucket", headers=library.reader).status_code == 422


def test_the_timeline_needs_read_permission_when_reads_require_auth(library: Store) -> None:
    on = library.client.put(
        "/admin/config/read-auth", json={"enabled": True}, headers=library.admin
    )
    assert on.status_code == 200
    assert library.client.get("/timeline/buckets").status_code == 401
    assert library.client.get("/timeline/bucket", params={"month": "2020-01"}).status_code == 401
    assert _buckets(library)["total"] == 0


def test_the_thumbhash_is_a_placeholder_of_the_picture(library: Store) -> None:
    red = Image.new("RGB", (120, 80), (220, 20, 30))
    entity = library.upload(mf.jpeg_bytes(red)).json()
    assert entity["thumbhash"]
    hashed = list(base64.b64decode(entity["thumbhash"]))
    assert len(hashed) <= 30
    r, g, b, _ = thumbhash.thumb_hash_to_average_rgba(hashed)
    assert r > 0.7  # red on average, as the picture
    assert max(g, b) < 0.25
    ratio = thumbhash.thumb_hash_to_approximate_aspect_ratio(hashed)
    assert ratio == pytest.approx(120 / 80, rel=0.2)


def test_thumbnails_named_by_their_current_token_are_immutable(library: Store) -> None:
    entity = library.media(seed=12)
    url = f"/entity/{entity['id']}"
    for kind in ("thumbnail", "preview"):
        current = library.client.get(f"{url}/{kind}", params={"v": entity["token"]})
        assert current.status_code == 200
        assert current.headers["cache-control"] == IMMUTABLE
        stale = library.client.get(f"{url}/{kind}", params={"v": "0" * 16})
        assert stale.status_code == 200
        assert stale.headers["cache-control"] == "private, no-cache"
        plain = library.client.get(f"{url}/{kind}")
        assert plain.headers["cache-control"] == "private, no-cache"
        assert plain.content == current.content
    original = library.client.get(f"{url}/file", params={"v": entity["token"]})
    assert original.headers["cache-control"] == "private, no-cache"  # originals revalidate
    assert library.client.get(f"{url}/file", headers={"If-None-Match": original.headers["etag"]}
                            ).status_code == 304  # fmt: skip


def test_new_content_gets_a_new_token_and_the_old_url_stops_being_immutable(library: Store) -> None:
    entity = library.media(seed=13)
    replaced = library.client.put(
        f"/entity/{entity['id']}",
        data={"is_collection": "false"},
        files={"image": ("new.jpg", mf.jpeg_bytes(seed=14, size=(320, 240)), "image/jpeg")},
        headers=library.writer,
    )
    assert replaced.status_code == 200, replaced.text
    new = replaced.json()
    assert new["token"] != entity["token"]
    assert new["thumbhash"]
    assert new["thumbhash"] != entity["thumbhash"]
    old_url = library.client.get(f"/entity/{entity['id']}/thumbnail", params={"v": entity["token"]})
    assert old_url.headers["cache-control"] == "private, no-cache"
    new_url = library.client.get(f"/entity/{entity['id']}/thumbnail", params={"v": new["token"]})
    assert new_url.headers["cache-control"] == IMMUTABLE
    # version 1's rendition is still addressable, and immutable under its own token
    first = library.client.get(
        f"/entity/{entity['id']}/thumbnail", params={"version": 1, "v": entity["token"]}
    )
    assert first.headers["cache-control"] == IMMUTABLE
    restored = library.client.post(
        f"/entity/{entity['id']}/versions/1/restore", headers=library.writer
    )
    assert restored.json()["thumbhash"] == entity["thumbhash"]
    assert restored.json()["token"] == entity["token"]


def test_media_stored_before_placeholders_get_them_from_the_admin_backfill(library: Store) -> None:
    photos = [library.media(seed=20 + i) for i in range(3)]
    engine = sa.create_engine(normalise_url(library.settings.db_url()))
    with engine.begin() as conn:  # as a row migrated from before 0002_web looks
        conn.execute(sa.text("UPDATE entities SET thumbhash = NULL"))
    engine.dispose()
    cursor = len(library.changes())
    versions = library.client.get(f"/entity/{photos[0]['id']}/versions", headers=library.reader)

    url = "/admin/thumbhash"
    assert library.client.post(url, headers=library.writer).status_code == 403
    first = library.client.post(url, params={"limit": 2}, headers=library.admin).json()
    assert first == {"examined": 2, "updated": 2, "next_after_id": photos[1]["id"], "done": False}
    rest = library.client.post(
        url, params={"after_id": first["next_after_id"], "limit": 2}, headers=library.admin
    ).json()
    assert rest == {"examined": 1, "updated": 1, "next_after_id": photos[2]["id"], "done": True}

    for photo in photos:
        again = library.client.get(f"/entity/{photo['id']}", headers=library.reader).json()
        assert again["thumbhash"] == photo["thumbhash"]
    # a derived placeholder is not a user's change: no new version, nothing in the feed
    after = library.client.get(f"/entity/{photos[0]['id']}/versions", headers=library.reader)
    assert after.json() == versions.json()
    assert len(library.changes()) == cursor
