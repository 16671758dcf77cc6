"""List benchmark of the media store: text search and deep pages at 100k entities.

For SQLite and (with ``--postgres-url`` or MEDIANEST_TEST_POSTGRES_URL) PostgreSQL, in one run:

1. ``N`` entity rows are bulk-inserted (labels, camera file names, some descriptions), so the text
   index is filled by the same triggers / index as in production.
2. A real uvicorn server answers ``GET /entity/`` with ``page_size=50``: ``search_query`` (a rare
   and a common needle), deep pages by number (OFFSET) and by cursor (``after=``), in the id and
   the timeline (capture date desc) orders. p50/p95 over HTTP.
3. Baselines measured in the same run: a bare indexed SELECT of one page through SQLAlchemy
   (no HTTP, no serialisation) and the HTTP floor (the first page, no filter); every figure is
   printed with its p95 as a ratio of both (on a loaded machine the ratios say more than ms).

Usage: python bench/store_list.py [--entities 100000] [--requests 200] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from medianest.common.db import Database
from medianest.media_store.db import migrate
from medianest.media_store.models import Entity
from medianest.media_store.schemas import KeysetCursor, OrderBy, SortOrder

GOAL_MS = 20.0
WORDS = ["sunset", "beach", "birthday", "mountain", "street", "family", "garden", "snow"]


def _load_ingest() -> Any:
    """bench/ingest.py's server, key and scratch-database helpers (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_ingest", Path(__file__).with_name("ingest.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(db: Database, count: int) -> None:
    rng = random.Random(11)
    now = int(time.time() * 1000)
    rows = []
    for i in range(count):
        digest = hashlib.md5(str(i).encode(), usedforsecurity=False).hexdigest()
        word = WORDS[i % len(WORDS)]
        rows.append({
            "is_collection": False, "label": f"{word} {i}" if i % 3 else None,
            "description": f"a {word} photo taken on day {i % 365}" if i % 4 == 0 else None,
            "original_filename": f"IMG_{i:06d}.JPG", "added_date": now - i * 1000,
            "updated_date": now, "added_by": 1, "updated_by": 1,
            "create_date": now - rng.randrange(10**11), "file_size": 1000 + i, "width": 4000,
            "height": 3000, "mime_type": "image/jpeg" if i % 5 else "image/png", "type": "image",
            "extension": "jpg", "md5": digest, "sha256": digest * 2, "is_deleted": i % 50 == 0,
            "file_path": f"files/{digest[:2]}/{digest[2:4]}/{digest * 2}",
        })  # fmt: skip
    with db.sessions() as session, session.begin():
        for start in range(0, count, 10_000):
            session.execute(sa.insert(Entity), rows[start : start + 10_000])
    # steady state: what autovacuum (PostgreSQL) / the start-up ANALYZE (SQLite) would give
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        sqlite = db.engine.dialect.name == "sqlite"
        conn.exec_driver_sql("ANALYZE" if sqlite else "VACUUM ANALYZE")


def _pcts(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)]


def _time(n: int, call: Callable[[int], None]) -> tuple[float, float]:
    for i in range(min(10, n)):  # warm-up
        call(i)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return _pcts(samples)


def cursors(db: Database, count: int, order_by: OrderBy, order: SortOrder) -> list[str]:
    """Cursors at random deep positions (the last row of a page deep in the list)."""
    rng = random.Random(5)
    ids = [rng.randrange(count // 2, count) for _ in range(50)]
    with db.sessions() as session:
        rows = session.execute(sa.select(Entity.id, Entity.create_date).where(Entity.id.in_(ids)))
        return [
            KeysetCursor(
                order_by=order_by,
                order=order,
                value=None if order_by is OrderBy.id else date,
                id=entity_id,
            ).encode()
            for entity_id, date in rows
        ]


def bare_select(db: Database, count: int) -> Callable[[int], None]:
    """The floor: one page of rows by an indexed range, straight through SQLAlchemy Core."""
    rng = random.Random(3)
    stmt = (
        sa.select(Entity.__table__)
        .where(Entity.is_deleted == sa.false(), Entity.id > sa.bindparam("after"))
        .order_by(Entity.id)
        .limit(50)
    )

    def call(_: int) -> None:
        with db.read_engine.connect() as conn:
            assert len(conn.execute(stmt, {"after": rng.randrange(count - 100)}).all()) == 50

    return call


def http_list(
    client: httpx.Client, url: str, variants: list[dict[str, Any]]
) -> Callable[[int], None]:
    def call(i: int) -> None:
        resp = client.get(f"{url}/entity/", params={"page_size": 50, **variants[i % len(variants)]})
        assert resp.status_code == 200, resp.text

    return call


def measure(
    url: str, auth: str, db: Database, count: int, requests: int
) -> list[tuple[str, float, float]]:
    rng = random.Random(9)
    pages = [rng.randrange(count // 100, count // 50) for _ in range(100)]  # deep: 1k-2k
    timeline = {"order_by": "create_date", "order": "desc"}
    rare = [{"search_query": f"IMG_{rng.randrange(count):06d}"} for _ in range(50)]
    common = [{"search_query": w} for w in WORDS] + [{"search_query": "photo 99"}]
    by_id = cursors(db, count, OrderBy.id, SortOrder.asc)
    by_date = cursors(db, count, OrderBy.create_date, SortOrder.desc)
    figures: list[tuple[str, float, float]] = []
    figures.append(
        ("baseline: bare indexed SELECT, 50 rows", *_time(requests, bare_select(db, count)))
    )
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {auth}"}) as client:
        cases: list[tuple[str, list[dict[str, Any]]]] = [
            ("baseline: HTTP first page, no filter", [{}]),
            ("search_query, rare needle (1 hit)", rare),
            ("search_query, common word (~12k hits)", common),
            (
                "search_query + type + timeline order",
                [{**c, **timeline, "type": "image"} for c in common],
            ),
            ("deep page by number, id order", [{"page": p} for p in pages]),
            ("deep page by number, timeline", [{"page": p, **timeline} for p in pages]),
            ("deep page by cursor, id order", [{"after": c} for c in by_id]),
            ("deep page by cursor, timeline", [{"after": c, **timeline} for c in by_date]),
        ]
        for name, variants in cases:
            figures.append((name, *_time(requests, http_list(client, url, variants))))
    return figures


def run_backend(
    ingest: Any, root: Path, db_url: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    key, key_path = ingest.make_key(root)
    auth = ingest.token(key)
    migrate(db_url)
    db = Database(db_url)
    started = time.perf_counter()
    seed(db, args.entities)
    backend = db.engine.dialect.name
    print(f"\n{backend}: {args.entities} entities seeded in {time.perf_counter() - started:.1f} s")
    url, proc = ingest.start_server(root / f"home-{backend}", key_path, db_url)
    try:
        figures = measure(url, auth, db, args.entities, args.requests)
    finally:
        proc.terminate()
        proc.wait(20)
        db.dispose()
    bare, http = figures[0][2], figures[1][2]
    print(
        f"  {'figure':<44} {'p50 ms':>8} {'p95 ms':>8} {'/bare':>6} {'/HTTP':>6}"
        f"  goal p95 < {GOAL_MS:.0f} ms"
    )
    results = []
    for name, p50, p95 in figures:
        met = "met" if p95 < GOAL_MS else "NOT met"
        print(f"  {name:<44} {p50:8.2f} {p95:8.2f} {p95 / bare:6.1f} {p95 / http:6.2f}  {met}")
        results.append({"backend": backend, "figure": name, "p50_ms": p50, "p95_ms": p95,
                        "goal_ms": GOAL_MS, "met": p95 < GOAL_MS, "p95_vs_bare_select":
                        p95 / bare, "p95_vs_http_floor": p95 / http})  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("MEDIANEST_TEST_POSTGRES_URL"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    ingest = _load_ingest()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="medianest-bench-list-") as tmp:
        root = Path(tmp)
        results += run_backend(ingest, root, f"sqlite:///{root / 'list.db'}", args)
        if args.postgres_url:
            with ingest.scratch_postgres(args.postgres_url) as pg_url:
                results += run_backend(ingest, root, pg_url, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
