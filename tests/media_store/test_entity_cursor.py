"""Keyset pagination of the entity list: ``after=`` cursors beside the seed's ``page``."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest

from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store]

ORDERS = [
    {"order_by": "id", "order": "asc"},
    {"order_by": "id", "order": "desc"},
    {"order_by": "create_date", "order": "desc"},
    {"order_by": "create_date", "order": "asc"},
    {"order_by": "added_date", "order": "desc"},
    {"order_by": "label", "order": "asc"},
    {"order_by": "label", "order": "desc"},
]


def _collection(store: Store, label: str | None) -> int:
    form = {"is_collection": "true", **({"label": label} if label is not None else {})}
    resp = store.client.post("/entity/", data=form, headers=store.writer)
    assert resp.status_code == 201, resp.text
    entity_id: int = resp.json()["id"]
    return entity_id


def _walk(store: Store, page_size: int, **params: Any) -> tuple[list[int], int]:
    """Every id by following next_cursor; also the number of requests it took."""
    seen: list[int] = []
    body = store.client.get("/entity/", params={**params, "page_size": page_size}).json()
    requests = 1
    while True:
        seen += [e["id"] for e in body["items"]]
        if body["next_cursor"] is None:
            return seen, requests
        query = {**params, "page_size": page_size, "after": body["next_cursor"]}
        resp = store.client.get("/entity/", params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        requests += 1


@pytest.fixture
def labelled(store: Store) -> list[int]:
    labels = ["b", None, "a", "b", None, "c", "a"]
    return [_collection(store, label) for label in labels]


def test_cursor_walk_equals_the_full_list_in_every_order(store: Store, labelled: list[int]) -> None:
    for order in ORDERS:  # label orders: NULL labels on both sides of the cursor
        full = store.client.get("/entity/", params={**order, "page_size": 100}).json()
        expected = [e["id"] for e in full["items"]]
        assert sorted(expected) == sorted(labelled)
        for page_size in (1, 2, 3):
            seen, requests = _walk(store, page_size, **order)
            assert seen == expected, order
            assert requests == -(-len(expected) // page_size)


def test_cursor_skips_nothing_when_rows_are_inserted_meanwhile(store: Store) -> None:
    before = [_collection(store, f"old {i}") for i in range(9)]
    first = store.client.get("/entity/", params={"page_size": 3, "order": "desc"}).json()
    seen = [e["id"] for e in first["items"]]
    cursor = first["next_cursor"]
    newer = [_collection(store, "new") for _ in range(4)]  # ahead of the cursor in id desc
    while cursor:
        query = {"page_size": 3, "order": "desc", "after": cursor}
        body = store.client.get("/entity/", params=query).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
    assert seen == sorted(before, reverse=True)
    assert not set(newer) & set(seen)


def test_cursor_stable_under_concurrent_inserts(store: Store) -> None:
    """Pages read in one thread while another inserts: old rows once each, in order."""
    before = [_collection(store, "old") for _ in range(30)]
    stop = threading.Event()
    inserted: list[int] = []

    def insert() -> None:
        while not stop.is_set() and len(inserted) < 200:
            inserted.append(_collection(store, "new"))

    writer = threading.Thread(target=insert)
    writer.start()
    try:
        seen, _ = _walk(store, 4, order_by="id", order="asc")
    finally:
        stop.set()
        writer.join(30)
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert seen[: len(before)] == before
    assert set(seen[len(before) :]) <= set(inserted)


def test_page_mode_also_gives_a_cursor(store: Store, labelled: list[int]) -> None:
    body = store.client.get("/entity/", params={"page": 2, "page_size": 3}).json()
    assert [e["id"] for e in body["items"]] == labelled[3:6]
    assert body["pagination"]["page"] == 2
    rest = store.client.get("/entity/", params={"after": body["next_cursor"], "page_size": 3})
    page = rest.json()
    assert [e["id"] for e in page["items"]] == labelled[6:]
    assert page["next_cursor"] is None
    assert page["pagination"] == {
        "page": 0, "page_size": 3, "total_items": None, "total_pages": None,
        "has_next": False, "has_prev": True,
    }  # fmt: skip


def test_cursor_combines_with_filters_and_search(store: Store, labelled: list[int]) -> None:
    seen, _ = _walk(store, 1, search_query="b", order_by="label", order="desc")
    assert seen == [labelled[3], labelled[0]]


def _forged(**fields: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


BAD_CURSORS: list[dict[str, Any]] = [
    {"after": "not a cursor"},
    {"after": _forged(order_by="id", order="asc")},
    {"after": _forged(order_by="id", order="asc", id=1, extra=1)},
    {"after": _forged(order_by="label", order="asc", value=3, id=1), "order_by": "label"},
    {"after": _forged(order_by="id", order="desc", id=1)},
    {"after": _forged(order_by="id", order="asc", id=1), "page": 2},
    {"after": _forged(order_by="id", order="asc", id=1), "version": 1},
    {"after": "x" * 600},
]


def test_bad_cursors_are_422(store: Store) -> None:
    for params in BAD_CURSORS:
        resp = store.client.get("/entity/", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert "detail" in resp.json()


def test_totals_follow_every_write(store: Store) -> None:
    """Page totals are cached per filter set, never across a write."""

    def total(**params: Any) -> int:
        body = store.client.get("/entity/", params={"page_size": 1, **params}).json()
        value: int = body["pagination"]["total_items"]
        return value

    first = _collection(store, "one")
    assert total() == 1
    assert total(search_query="one") == 1
    second = _collection(store, "two")
    assert (total(), total(search_query="one")) == (2, 1)
    store.patch(second, label="one too")
    assert total(search_query="one") == 2
    store.patch(first, is_deleted=True)
    assert (total(), total(include_deleted=True)) == (1, 2)
    assert store.client.delete(f"/entity/{first}", headers=store.writer).status_code == 204
    assert total(include_deleted=True) == 1
