"""Entity list filters of the seed's later versions, range validation, lookup by label."""

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
def library(store: Store) -> dict[str, Any]:
    album = store.collection("Trip to Lisbon")
    small = store.upload(
        mf.jpeg_bytes(seed=40, size=(120, 90), exif=mf.ExifSpec("2020:05:01 10:00:00", None)),
        filename="small_tram.jpg",
        label="tram",
        parent_id=album["id"],
    ).json()
    large = store.upload(
        mf.jpeg_bytes(seed=41, size=(400, 300), exif=mf.ExifSpec("2022:05:01 10:00:00", None)),
        filename="large_tram.jpg",
        description="a yellow tram at night",
    ).json()
    png = store.upload(mf.png_bytes(size=(200, 50), seed=42), filename="banner.png").json()
    return {"album": album, "small": small, "large": large, "png": png}


def test_size_and_hash_filters(store: Store, library: dict[str, Any]) -> None:
    small, large, png = library["small"], library["large"], library["png"]
    assert _ids(store, md5=large["md5"]) == [large["id"]]
    assert _ids(store, md5=large["md5"].upper()) == [large["id"]]
    assert _ids(store, width_min=200) == [large["id"], png["id"]]
    assert _ids(store, width_min=200, width_max=200) == [png["id"]]
    assert _ids(store, height_max=90) == [small["id"], png["id"]]
    assert _ids(store, height_min=91, height_max=299) == []
    sizes = sorted([small["file_size"], large["file_size"]])
    assert _ids(store, file_size_min=sizes[1], type="image", mime_type="image/jpeg") == [
        e["id"] for e in (small, large) if e["file_size"] == sizes[1]
    ]
    assert _ids(store, file_size_max=0) == []


def test_date_filters_are_inclusive(store: Store, library: dict[str, Any]) -> None:
    small, large = library["small"], library["large"]
    taken = small["create_date"]
    assert _ids(store, date_from=taken, date_to=taken) == [small["id"]]
    assert _ids(store, date_from=taken + 1, date_to=large["create_date"]) == [large["id"]]
    added = library["png"]["added_date"]
    assert library["png"]["id"] in _ids(store, added_from=added, added_to=added)
    assert _ids(store, added_to=library["album"]["added_date"] - 1) == []


def test_parent_zero_lists_the_top_level(store: Store, library: dict[str, Any]) -> None:
    top = [library[k]["id"] for k in ("album", "large", "png")]
    assert _ids(store, parent_id=0) == top
    assert _ids(store, parent_id=library["album"]["id"]) == [library["small"]["id"]]


def test_filters_combine_with_search(store: Store, library: dict[str, Any]) -> None:
    small, large = library["small"], library["large"]
    assert _ids(store, search_query="tram") == [small["id"], large["id"]]
    assert _ids(store, search_query="TRAM", width_min=300) == [large["id"]]
    assert _ids(store, search_query="tram", parent_id=0) == [large["id"]]
    assert _ids(store, search_query="yellow", date_to=small["create_date"]) == []
    assert _ids(store, search_query="tram", md5=small["md5"], order="desc") == [small["id"]]


BAD_RANGES: list[dict[str, Any]] = [
    {"width_min": 10, "width_max": 9},
    {"height_min": 2, "height_max": 1},
    {"file_size_min": 100, "file_size_max": 99},
    {"date_from": 2000, "date_to": 1000},
    {"added_from": 2000, "added_to": 1000},
    {"width_min": -1},
    {"md5": "xyz"},
    {"md5": "0" * 31},
    {"parent_id": -1},
    {"date_from": 10**18},
]


def test_bad_ranges_are_422(store: Store) -> None:
    for params in BAD_RANGES:
        resp = store.client.get("/entity/", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert "detail" in resp.json()


def test_lookup_by_label_lists_every_match(store: Store, library: dict[str, Any]) -> None:
    twin = store.collection("tram")
    store.patch(twin["id"], is_deleted=True)
    resp = store.client.post(
        "/entity/lookup", json={"labels": ["tram", "nothing", "Trip to Lisbon"]}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["results"] == []
    assert body["label_results"] == [
        {
            "label": "tram",
            "known": True,
            "entities": [
                {"entity_id": library["small"]["id"], "is_deleted": False},
                {"entity_id": twin["id"], "is_deleted": True},
            ],
        },
        {"label": "nothing", "known": False, "entities": []},
        {
            "label": "Trip to Lisbon",
            "known": True,
            "entities": [{"entity_id": library["album"]["id"], "is_deleted": False}],
        },
    ]


def test_lookup_by_hash_and_label_together(store: Store, library: dict[str, Any]) -> None:
    body = {"hashes": [library["png"]["md5"]], "labels": ["tram"]}
    resp = store.client.post("/entity/lookup", json=body).json()
    assert resp["results"][0]["entity_id"] == library["png"]["id"]
    assert resp["label_results"][0]["entities"][0]["entity_id"] == library["small"]["id"]


def test_lookup_needs_hashes_or_labels(store: Store) -> None:
    assert store.client.post("/entity/lookup", json={}).status_code == 422
    too_long = {"labels": ["x" * 256]}
    assert store.client.post("/entity/lookup", json=too_long).status_code == 422
    assert store.client.post("/entity/lookup", json={"labels": []}).status_code == 200
