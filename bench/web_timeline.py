"""Web timeline benchmark: what the browser waits for before the first thumbnails can load.

With N entities (default 100k, bulk-inserted into the store's database over ~3 years of capture
dates, ThumbHash included) behind a real media store and the web server (`medianest serve web`),
all over HTTP through the web server as the browser does it:

1. first screen: ``GET /api/store/timeline/buckets`` then the newest month's
   ``GET /api/store/timeline/bucket?month=...`` (sizes the whole scroll area, places the first
   rows and their placeholders);
2. baseline, same run: a bare ``GET /api/store/entity/?page=1`` (one default list page), and the
   same first screen straight to the store (the proxy's cost);
3. scroll to the bottom: every bucket, newest to oldest (the most a timeline ever loads).

Usage: python bench/web_timeline.py [--entities 100000] [--rounds 30] [--postgres-url URL]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ingest.py holds the shared set-up (keys, tokens, seeding, scratch PostgreSQL)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

import httpx
from ingest import free_port, make_key, scratch_postgres, seed_entities, token

from medianest.common.db import Database
from medianest.media_store.db import migrate

PLACEHOLDER = "1QcSHQRnh493V4dIh4eXh1h4kJUI"  # a real 20-byte ThumbHash, base64


@contextlib.contextmanager
def serve(service: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "medianest", "serve", service, "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, "MEDIANEST_LOG_LEVEL": "WARNING", **env})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{service} did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def add_placeholders(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE entities SET thumbhash = '{PLACEHOLDER}'")
    db.dispose()


def timed(rounds: int, call: Callable[[], int]) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, bytes of the last round) over ``rounds`` runs after one warm-up."""
    call()
    values, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = call()
        values.append((time.perf_counter() - started) * 1000)
    values.sort()
    return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)], size


def first_screen(client: httpx.Client, base: str) -> int:
    buckets = client.get(f"{base}/timeline/buckets")
    buckets.raise_for_status()
    newest = buckets.json()["buckets"][0]["month"]
    bucket = client.get(f"{base}/timeline/bucket", params={"month": newest})
    bucket.raise_for_status()
    return len(buckets.content) + len(bucket.content)


def bucket_list(client: httpx.Client, base: str) -> int:
    resp = client.get(f"{base}/timeline/buckets")
    resp.raise_for_status()
    return len(resp.content)


def entity_page(client: httpx.Client, base: str) -> int:
    resp = client.get(f"{base}/entity/", params={"page": 1})
    resp.raise_for_status()
    return len(resp.content)


def scroll_to_bottom(client: httpx.Client, base: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    months = client.get(f"{base}/timeline/buckets").json()["buckets"]
    size = 0
    for month in months:
        resp = client.get(f"{base}/timeline/bucket", params={"month": month["month"]})
        resp.raise_for_status()
        size += len(resp.content)
    return time.perf_counter() - started, len(months), size


def bench(root: Path, key_path: Path, auth: str, count: int, db_url: str, rounds: int) -> None:
    backend = db_url.split(":", 1)[0]
    migrate(db_url)
    started = time.perf_counter()
    seed_entities(db_url, count)
    add_placeholders(db_url)
    print(f"\n{count} entities on {backend} (seeded in {time.perf_counter() - started:.1f} s)")
    store_env = {
        "MEDIANEST_HOME": str(root / f"home-{backend}"),
        "MEDIANEST_PUBLIC_KEY_PATH": str(key_path),
        "MEDIA_STORE_DATABASE_URL": db_url,
    }
    with serve("media_store", store_env) as store:
        web_env = {"MEDIANEST_MEDIA_STORE_URL": store, "MEDIANEST_WEB_DIST": str(root / "dist")}
        with (
            serve("web", web_env) as web,
            httpx.Client(timeout=60, headers={"Authorization": f"Bearer {auth}"}) as client,
        ):
            proxied = f"{web}/api/store"
            newest = client.get(f"{store}/timeline/buckets").json()["buckets"][0]
            print(f"  (the newest month holds {newest['count']} items)")
            rows = [
                ("first screen (buckets + newest bucket), via web", first_screen, proxied),
                ("first screen, straight to the store", first_screen, store),
                ("  of which: the bucket list, via web", bucket_list, proxied),
                ("baseline: GET /entity/?page=1 (20 items), via web", entity_page, proxied),
                ("baseline, straight to the store", entity_page, store),
            ]
            for name, call, base in rows:
                p50, p95, size = timed(rounds, lambda c=call, b=base: c(client, b))  # type: ignore[misc]
                print(f"  {name:<50} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {size / 1024:7.1f} KiB")
            seconds, months, size = scroll_to_bottom(client, proxied)
            print(f"  scroll to the bottom: {months} buckets, {size / 1024 / 1024:.1f} MiB "
                  f"in {seconds * 1000:.0f} ms ({count / seconds:,.0f} items/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MEDIANEST_TEST_POSTGRES_URL"),
        help="also measure on PostgreSQL (a scratch database is created and dropped)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medianest-bench-web-") as tmp:
        root = Path(tmp)
        key, key_path = make_key(root)
        auth = token(key)
        sqlite_url = f"sqlite:///{root / 'timeline.db'}"
        bench(root, key_path, auth, args.entities, sqlite_url, args.rounds)
        if args.postgres_url:
            with scratch_postgres(args.postgres_url) as pg_url:
                bench(root, key_path, auth, args.entities, pg_url, args.rounds)


if __name__ == "__main__":
    main()
