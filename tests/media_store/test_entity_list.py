"""Entity list: filters, order, stable paging, totals, versions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store]


def _ids(store: Store, **params: Any) -> list[int]:
    resp = store.client.get("/entity/", params=params)
    assert resp.status_code == 200, resp.text
    return [e["id"] for e in resp.json()["items"]]


@pytest.fixture
def populated(store: Store) -> dict[str, Any]:
    album = store.collection("Holiday album")
    dates = ["2021:01:01 10:00:00", "2023:01:01 10:00:00", "2022:01:01 10:00:00"]
    photos = []
    for seed, date in enumerate(dates):
        jpeg = mf.jpeg_bytes(seed=20 + seed, size=(160, 120), exif=mf.ExifSpec(date, None))
        resp = store.upload(jpeg, filename=f"IMG_{seed}.jpg", label=f"photo {seed}",
                            parent_id=album["id"])  # fmt: skip
        photos.append(resp.json())
    png = store.upload(mf.png_bytes(size=(64, 64), seed=30), filename="diagram.png").json()
    return {"album": album, "photos": photos, "png": png}


def test_filters(store: Store, populated: dict[str, Any]) -> None:
    album, photos, png = populated["album"], populated["photos"], populated["png"]
    photo_ids = [p["id"] for p in photos]
    assert _ids(store, parent_id=album["id"]) == photo_ids
    assert _ids(store, is_collection=True) == [album["id"]]
    assert _ids(store, mime_type="image/png") == [png["id"]]
    assert _ids(store, type="image") == [*photo_ids, png["id"]]
    assert _ids(store, type="video") == []
    assert _ids(store, search_query="holiday") == [album["id"]]
    assert _ids(store, search_query="IMG_1") == [photo_ids[1]]
    assert _ids(store, search_query="100%") == []
    assert _ids(store, created_after=photos[2]["create_date"], type="image",
                created_before=photos[1]["create_date"]) == [photo_ids[2]]  # fmt: skip


def test_order_by_capture_date_desc(store: Store, populated: dict[str, Any]) -> None:
    photos = populated["photos"]
    ids = _ids(store, order_by="create_date", order="desc", parent_id=populated["album"]["id"])
    assert ids == [photos[1]["id"], photos[2]["id"], photos[0]["id"]]


def test_order_by_label_puts_nulls_first(store: Store, populated: dict[str, Any]) -> None:
    ids = _ids(store, order_by="label")
    assert ids[0] == populated["png"]["id"]
    assert ids[1] == populated["album"]["id"]


@pytest.mark.usefixtures("populated")
def test_pages_are_stable_and_totals_right(store: Store) -> None:
    seen: list[int] = []
    for page in (1, 2, 3):
        resp = store.client.get("/entity/", params={"page": page, "page_size": 2,
                                                     "order_by": "added_date"})  # fmt: skip
        body = resp.json()
        assert body["pagination"]["total_items"] == 5
        assert body["pagination"]["total_pages"] == 3
        seen += [e["id"] for e in body["items"]]
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) == 5
    past = store.client.get("/entity/", params={"page": 9}).json()
    assert past["items"] == []
    assert past["pagination"]["has_prev"] is True


def test_list_of_versions_counts_right(store: Store, populated: dict[str, Any]) -> None:
    first = populated["photos"][0]
    store.patch(first["id"], label="renamed")
    store.patch(first["id"], label="renamed again")
    body = store.client.get("/entity/", params={"version": 2}).json()
    assert body["pagination"]["total_items"] == 1
    assert [e["label"] for e in body["items"]] == ["renamed"]
    body = store.client.get("/entity/", params={"version": 1}).json()
    assert body["pagination"]["total_items"] == 5
    assert body["items"][0]["label"] == "Holiday album"


def test_bad_list_parameters_are_422(store: Store) -> None:
    for params in ({"page": 0}, {"page_size": 101}, {"order_by": "md5"}, {"type": "audio"}):
        assert store.client.get("/entity/", params=params).status_code == 422
