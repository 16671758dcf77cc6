"""``search_query`` through the text index: substring semantics, kept in step with every write."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from medianest.common.db import Database, run_migrations
from medianest.media_store import repository as repo
from medianest.media_store.db import MIGRATIONS_DIR, migrate
from medianest.media_store.schemas import EntityQuery
from tests.conftest import DatabaseFactory
from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store]


def _ids(store: Store, **params: Any) -> list[int]:
    resp = store.client.get("/entity/", params=params)
    assert resp.status_code == 200, resp.text
    return [e["id"] for e in resp.json()["items"]]


def test_search_is_a_case_insensitive_substring_match(store: Store) -> None:
    a = store.collection("Sunset over Porto", description='the "best" 50% of it')
    b = store.collection("porto_2019")
    c = store.collection("x")
    assert _ids(store, search_query="PORTO") == [a["id"], b["id"]]
    assert _ids(store, search_query="set ov") == [a["id"]]
    assert _ids(store, search_query="o_2") == [b["id"]]
    assert _ids(store, search_query="o%2") == []
    assert _ids(store, search_query="50%") == [a["id"]]
    assert _ids(store, search_query='"best"') == [a["id"]]
    assert _ids(store, search_query="x") == [c["id"]]  # shorter than a trigram
    assert _ids(store, search_query="rt") == [a["id"], b["id"]]
    assert _ids(store, search_query="Porto Sunset") == []


def test_search_follows_updates_trash_and_restores(store: Store) -> None:
    entity = store.collection("first name", description="alpha")
    assert store.patch(entity["id"], label="second name").status_code == 200
    assert _ids(store, search_query="first") == []
    assert _ids(store, search_query="second") == [entity["id"]]
    store.patch(entity["id"], description=None)
    assert _ids(store, search_query="alpha") == []
    store.patch(entity["id"], is_deleted=True)
    assert _ids(store, search_query="second") == []
    assert _ids(store, search_query="second", include_deleted=True) == [entity["id"]]
    store.patch(entity["id"], is_deleted=False)
    resp = store.client.post(f"/entity/{entity['id']}/versions/1/restore", headers=store.writer)
    assert resp.status_code == 200, resp.text
    assert _ids(store, search_query="first") == [entity["id"]]
    assert _ids(store, search_query="second") == []


def test_search_forgets_hard_deleted_entities(store: Store) -> None:
    doomed = store.collection("doomed album")
    kept = store.collection("kept album")
    assert store.client.delete(f"/entity/{doomed['id']}", headers=store.writer).status_code == 204
    assert _ids(store, search_query="album") == [kept["id"]]
    assert store.client.delete("/entity/", headers=store.admin).status_code == 200
    assert _ids(store, search_query="album") == []


def test_search_finds_original_filenames(store: Store) -> None:
    media = store.media(seed=5, filename="DSC_0042.JPG")
    assert _ids(store, search_query="dsc_00") == [media["id"]]


def test_search_of_old_versions_still_works(store: Store) -> None:
    entity = store.collection("before")
    store.patch(entity["id"], label="after")
    assert _ids(store, search_query="before", version=1) == [entity["id"]]
    assert _ids(store, search_query="before", version=2) == []


def test_migration_backfills_the_index(db_factory: DatabaseFactory) -> None:
    url = db_factory.empty_url()
    run_migrations(MIGRATIONS_DIR, url, "0001")
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO entities (is_collection, label, description, added_date, "
                    "updated_date, is_deleted) VALUES (:c, :l, :d, 1, 1, :f)"
                ),
                [
                    {"c": True, "l": "Old Library", "d": None, "f": False},
                    {"c": True, "l": None, "d": "an old description", "f": False},
                    {"c": True, "l": "unrelated", "d": None, "f": False},
                ],
            )
        migrate(url)
        with db.sessions() as session:
            query = EntityQuery(search_query="old ")
            rows, more = repo.list_entities(session, query)
            assert repo.count_entities(session, query) == 2
        assert [r.id for r in rows] == [1, 2]
        assert more is False
    finally:
        db.dispose()


def test_search_with_many_matches_walks_the_order_index_same_results(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [store.collection(f"beach {n}")["id"] for n in range(5)]
    store.collection("mountain")
    params = {"search_query": "beach", "order_by": "label", "order": "desc", "page_size": 2}
    sorted_ = _ids(store, **params)
    monkeypatch.setattr(repo, "SORT_MATCHES_MAX", 1)  # "many" matches: the index walk
    assert _ids(store, **params) == sorted_ == ids[::-1][:2]
    assert _ids(store, **params, is_collection=True) == sorted_
    body = store.client.get("/entity/", params=params).json()
    after = store.client.get("/entity/", params={**params, "after": body["next_cursor"]}).json()
    assert [e["id"] for e in after["items"]] == ids[::-1][2:4]
