"""Hash lookup, near duplicates (pHash) and duplicate groups."""

from __future__ import annotations

import io

import numpy as np
import pytest

from medianest.media_store.service import duplicates
from tests.media_store import media_factory as mf
from tests.media_store.conftest import Store

pytestmark = [pytest.mark.media_store]


def test_lookup_reports_known_and_unknown_hashes(store: Store) -> None:
    live = store.media(seed=80)
    trashed = store.media(seed=81)
    store.patch(trashed["id"], is_deleted=True)
    unknown = "0" * 32
    resp = store.client.post(
        "/entity/lookup",
        json={"hashes": [live["md5"], trashed["sha256"].upper(), unknown]},
    )
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert results[0] == {"hash": live["md5"], "known": True, "entity_id": live["id"],
                          "is_deleted": False}  # fmt: skip
    assert results[1]["entity_id"] == trashed["id"]
    assert results[1]["is_deleted"] is True
    assert results[2] == {"hash": unknown, "known": False, "entity_id": None, "is_deleted": None}


def test_lookup_validates_input(store: Store) -> None:
    assert store.client.post("/entity/lookup", json={"hashes": ["zz" * 16]}).status_code == 422
    too_many = {"hashes": ["0" * 32] * 1001}
    assert store.client.post("/entity/lookup", json=too_many).status_code == 422


def _variants(seed: int) -> dict[str, bytes]:
    image = mf.natural_image(1024, 768, seed=seed)
    original = mf.jpeg_bytes(image, exif=mf.ExifSpec(), quality=92)
    small = image.resize((512, 384))
    out = io.BytesIO()
    small.save(out, "PNG")
    return {
        "original": original,
        "resized": mf.jpeg_bytes(small, quality=90),
        "recompressed": mf.jpeg_bytes(image, quality=45),
        "stripped": mf.strip_exif(original),
        "png": out.getvalue(),
    }


def test_near_duplicates_find_edited_copies_not_unrelated(store: Store) -> None:
    ids = {name: store.upload(data, filename=f"{name}.jpg").json()["id"]
           for name, data in _variants(90).items()}  # fmt: skip
    unrelated = [store.media(seed=s)["id"] for s in (91, 92, 93)]
    resp = store.client.get(f"/entity/{ids['original']}/near-duplicates")
    assert resp.status_code == 200
    found = {item["entity"]["id"]: item["distance"] for item in resp.json()["items"]}
    assert set(found) == {ids[n] for n in ("resized", "recompressed", "stripped", "png")}
    assert not set(found) & set(unrelated)
    distances = [item["distance"] for item in resp.json()["items"]]
    assert distances == sorted(distances)
    exact = store.client.get(f"/entity/{ids['original']}/near-duplicates",
                             params={"max_distance": 64}).json()  # fmt: skip
    assert len(exact["items"]) == len(ids) - 1 + len(unrelated)


def test_duplicate_groups(store: Store) -> None:
    a = [store.upload(d).json()["id"] for d in _variants(94).values()]
    b_original = mf.natural_image(800, 600, seed=95)
    b = [store.upload(mf.jpeg_bytes(b_original, quality=q)).json()["id"] for q in (95, 60)]
    store.media(seed=96)
    groups = store.client.get("/duplicates").json()["groups"]
    assert sorted(g["entity_ids"] for g in groups) == sorted([sorted(a), sorted(b)])
    assert groups[0]["entities"][0]["id"] == groups[0]["entity_ids"][0]


def test_near_duplicates_of_collection_is_404(store: Store) -> None:
    album = store.collection()
    assert store.client.get(f"/entity/{album['id']}/near-duplicates").status_code == 404
    assert store.client.get("/entity/424242/near-duplicates").status_code == 404


@pytest.mark.parametrize("max_distance", [0, 4, 8, 12])
def test_bucketed_pair_search_matches_brute_force(max_distance: int) -> None:
    rng = np.random.default_rng(max_distance)
    hashes = rng.integers(0, 2**63, size=6000, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    a, b, c = (rng.integers(0, 2**63, size=400, dtype=np.int64).astype(np.uint64) for _ in "abc")
    sparse = a & b & c  # ~8 random bits set: near copies at assorted distances
    hashes[:400] = hashes[400:800] ^ sparse
    brute = duplicates._pairs_among(hashes, np.arange(len(hashes)), max_distance)
    assert duplicates._close_pairs(hashes, max_distance) == brute
