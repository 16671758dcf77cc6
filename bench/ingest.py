"""Ingest benchmark of the media store.

1. Upload N generated 12 MP JPEGs over HTTP with 4 concurrent clients to a real uvicorn server
   (SQLite, embedded defaults): files/s and MB/s.
2. The bare work on the same files in one process with the same concurrency, measured in the
   same run: copy + md5/sha256 + one exiftool call + the same renditions (preview, thumbnail,
   pHash) with the same library (libvips) as the service. The old narrow loop (copy + hashes +
   exiftool + a Pillow 256 px thumbnail only) is measured and reported beside it.
3. Renditions alone, libvips (the service) against the Pillow path it replaced, same files.
4. List-page latency (p50/p95) over HTTP with 100k entities bulk-inserted into the database.

Usage: python bench/ingest.py [--n 40] [--clients 4] [--entities 100000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's ``queue`` (used by concurrent.futures).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import contextlib
import hashlib
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import piexif
from bench.report import record
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image, ImageDraw

from medianest.media_store.db import migrate
from medianest.media_store.media import ExifTool, MediaAnalyzer, renditions, vips
from medianest.media_store.media.phash import phash

MB = 1024 * 1024


def make_key(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = folder / "public.pem"
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path.write_bytes(pem)
    return key, path


def token(key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "1", "permissions": ["media_store_write", "media_store_read"],
               "is_admin": True, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex,
               "iss": "medianest-auth", "aud": "medianest", "typ": "access", **claims}  # fmt: skip
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": "bench"})


def base_image(width: int = 4000, height: int = 3000) -> Image.Image:
    """A photo-like 12 MP picture (gradients and shapes, so JPEGs have realistic sizes)."""
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (gradient, gradient.rotate(90).resize((width, height)), gradient))
    draw = ImageDraw.Draw(image)
    rng = random.Random(1)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 300)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in "rgb"))
    # sensor-like grain, so a 12 MP JPEG weighs what a camera's does (a few MB)
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(image, grain, 0.15)


def make_files(folder: Path, n: int) -> list[Path]:
    image = base_image()
    exif = piexif.dump(
        {
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:05:01 10:00:00"},
            "0th": {piexif.ImageIFD.Make: b"Bench", piexif.ImageIFD.Model: b"12MP"},
        }
    )
    paths = []
    for i in range(n):
        copy = image.copy()
        ImageDraw.Draw(copy).rectangle((i * 50 % 3900, 10, i * 50 % 3900 + 80, 90), fill=(i, 0, 0))
        out = io.BytesIO()
        copy.save(out, "JPEG", quality=90, exif=exif)
        path = folder / f"img_{i:04d}.jpg"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(home: Path, key_path: Path, db_url: str | None = None) -> tuple[str, Any]:
    port = free_port()
    env = {**os.environ, "MEDIANEST_HOME": str(home), "MEDIANEST_PUBLIC_KEY_PATH": str(key_path),
           "MEDIANEST_LOG_LEVEL": "WARNING"}  # fmt: skip
    if db_url:
        env["MEDIA_STORE_DATABASE_URL"] = db_url
    cmd = [sys.executable, "-m", "uvicorn", "medianest.media_store.app:create_app", "--factory",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def upload_all(url: str, auth: str, files: list[Path], clients: int) -> float:
    headers = {"Authorization": f"Bearer {auth}"}

    def one(path: Path) -> int:
        with path.open("rb") as fh, httpx.Client(timeout=120) as client:
            resp = client.post(
                f"{url}/entity/",
                data={"is_collection": "false"},
                files={"image": (path.name, fh, "image/jpeg")},
                headers=headers,
            )
        if resp.status_code != 201:
            raise RuntimeError(f"{path.name}: {resp.status_code} {resp.text[:200]}")
        return resp.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - started


def _copy_and_hash(path: Path, folder: Path) -> Path:
    target = folder / path.name
    shutil.copyfile(path, target)
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with target.open("rb") as fh:
        while chunk := fh.read(MB):
            md5.update(chunk)
            sha.update(chunk)
    return target


def bare_work(files: list[Path], folder: Path, clients: int, narrow: bool = False) -> float:
    """What an upload must do at minimum: copy, hash, one exiftool call and the renditions.

    ``narrow``: the old baseline, a Pillow 256 px thumbnail instead of preview + thumbnail + pHash.
    """
    exiftool = ExifTool()
    exiftool.start()

    def one(path: Path) -> None:
        target = _copy_and_hash(path, folder)
        exiftool.metadata(target)
        if narrow:
            with Image.open(target) as image:
                image.draft("RGB", (512, 512))
                image.thumbnail((256, 256))
                image.save(io.BytesIO(), "WEBP", quality=80)
        else:
            vips.render(target)  # the service's renditions, same library, same sizes

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, files))
    exiftool.close()
    return time.perf_counter() - started


def pillow_renditions(path: Path) -> None:
    """The rendering path before libvips: full Pillow decode (DCT-reduced), preview, thumbnail,
    pHash of the preview."""
    decoded = renditions.decode_image(path)
    preview = renditions.preview_image(decoded.image)
    renditions.make_renditions(preview)
    phash(preview)


def renditions_only(files: list[Path], clients: int, library: str) -> float:
    work = pillow_renditions if library == "pillow" else vips.render
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, files))
    return time.perf_counter() - started


def analysis_only(files: list[Path], clients: int) -> float:
    """The media library's full analysis (metadata, decode, preview, thumbnail, pHash) alone."""
    analyzer = MediaAnalyzer(ExifTool())
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda p: analyzer.analyze(p, 0), files))
    analyzer.exiftool.close()
    return time.perf_counter() - started


def seed_entities(db_url: str, count: int) -> None:
    """Bulk-insert ``count`` plain entity rows (no versions: setup only, not what is measured)."""
    from sqlalchemy import insert

    from medianest.common.db import Database
    from medianest.media_store.models import Entity

    db = Database(db_url)
    rng = random.Random(7)
    now = int(time.time() * 1000)
    rows = []
    for i in range(count):
        digest = hashlib.md5(str(i).encode(), usedforsecurity=False).hexdigest()
        rows.append({
            "is_collection": False, "label": f"photo {i}", "description": None,
            "added_date": now - i * 1000, "updated_date": now, "added_by": 1, "updated_by": 1,
            "create_date": now - rng.randrange(10**11), "file_size": 1000, "width": 4000,
            "height": 3000, "mime_type": "image/jpeg" if i % 5 else "image/png", "type": "image",
            "extension": "jpg", "md5": digest, "sha256": digest * 2, "is_deleted": i % 50 == 0,
            "file_path": f"files/{digest[:2]}/{digest[2:4]}/{digest * 2}",
        })  # fmt: skip
    with db.sessions() as session, session.begin():
        for start in range(0, count, 10_000):
            session.execute(insert(Entity), rows[start : start + 10_000])
    # steady state: what autovacuum (PostgreSQL) / the start-up ANALYZE (SQLite) would give
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name != "sqlite" else "ANALYZE")
    db.dispose()


def list_latency(url: str, auth: str, requests: int = 300) -> dict[str, float]:
    variants = [
        {},
        {"order_by": "create_date", "order": "desc"},
        {"order_by": "added_date", "order": "desc", "mime_type": "image/png"},
        {"order_by": "label", "type": "image"},
        {"search_query": "photo 9999"},
    ]
    latencies: dict[str, list[float]] = {}
    headers = {"Authorization": f"Bearer {auth}"}
    with httpx.Client(timeout=30, headers=headers) as client:
        for i in range(requests):
            params = {**variants[i % len(variants)], "page": 1 + (i * 37) % 200, "page_size": 50}
            name = ",".join(f"{k}={v}" for k, v in variants[i % len(variants)].items()) or "default"
            started = time.perf_counter()
            resp = client.get(f"{url}/entity/", params=params)
            latencies.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            assert resp.status_code == 200, resp.text
    return {name: _pcts(values) for name, values in latencies.items()}  # type: ignore[misc]


def _pcts(values: list[float]) -> Any:
    values = sorted(values)
    return (statistics.median(values), values[int(len(values) * 0.95) - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="number of 12 MP JPEGs")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MEDIANEST_TEST_POSTGRES_URL"),
        help="also measure list pages on PostgreSQL (a scratch database is created and dropped)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medianest-bench-") as tmp:
        root = Path(tmp)
        key, key_path = make_key(root)
        auth = token(key)
        (root / "src").mkdir()
        (root / "bare").mkdir()
        print(f"generating {args.n} 12 MP JPEGs ...", flush=True)
        files = make_files(root / "src", args.n)
        total_mb = sum(p.stat().st_size for p in files) / MB
        bare_s = bare_work(files, root / "bare", args.clients)
        narrow_s = bare_work(files, root / "bare", args.clients, narrow=True)
        vips_s = renditions_only(files, args.clients, "vips")
        pillow_s = renditions_only(files, args.clients, "pillow")
        analysis_s = analysis_only(files, args.clients)
        url, proc = start_server(root / "home", key_path)
        try:
            http_s = upload_all(url, auth, files, args.clients)
        finally:
            proc.terminate()
            proc.wait(20)
        report_ingest(args, total_mb, http_s, bare_s, analysis_s, narrow_s)
        report_renditions(args.n, vips_s, pillow_s)
        bench_list(root, key_path, auth, args.entities, f"sqlite:///{root / 'list.db'}")
        if args.postgres_url:
            with scratch_postgres(args.postgres_url) as pg_url:
                bench_list(root, key_path, auth, args.entities, pg_url)


def report_ingest(
    args: Any, total_mb: float, http_s: float, bare_s: float, analysis_s: float, narrow_s: float
) -> None:
    n = args.n
    print(f"\ningest: {n} files, {total_mb:.0f} MB, {args.clients} concurrent clients")
    timings = (("HTTP upload", http_s), ("bare work", bare_s), ("old narrow loop", narrow_s),
               ("analysis only", analysis_s))  # fmt: skip
    for name, seconds in timings:
        rate, mbs = n / seconds, total_mb / seconds
        print(f"  {name:<15}: {rate:6.2f} files/s  {mbs:7.1f} MB/s  ({seconds:.1f} s)")
    print(f"  ratio HTTP / bare work (same renditions, libvips): {bare_s / http_s:.2f}")
    print(f"  ratio HTTP / old narrow loop (256 px thumbnail only): {narrow_s / http_s:.2f}")
    print(f"  ratio HTTP / analysis only (service overhead): {analysis_s / http_s:.2f}")
    record("ingest: HTTP vs bare loop (same renditions)", n / http_s, baseline=n / bare_s,
           unit="files/s", goal=(">=", 0.7), baseline_name="bare")  # fmt: skip
    record("ingest: HTTP vs old narrow loop", n / http_s, baseline=n / narrow_s,
           unit="files/s", goal=(">=", 0.7), baseline_name="narrow")  # fmt: skip
    record("ingest: HTTP vs analysis it runs", n / http_s, baseline=n / analysis_s,
           unit="files/s", goal=(">=", 0.9), baseline_name="analysis")  # fmt: skip


def report_renditions(n: int, vips_s: float, pillow_s: float) -> None:
    print(f"  renditions alone: libvips {n / vips_s:.2f} files/s, Pillow {n / pillow_s:.2f} "
          f"files/s, libvips / Pillow {pillow_s / vips_s:.2f}")  # fmt: skip
    record("renditions: libvips vs Pillow", n / vips_s, baseline=n / pillow_s, unit="files/s",
           goal=(">", 1.0), baseline_name="Pillow")  # fmt: skip


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    from medianest.common.db import normalise_url

    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    name = f"medianest_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_list(root: Path, key_path: Path, auth: str, count: int, db_url: str) -> None:
    migrate(db_url)
    started = time.perf_counter()
    seed_entities(db_url, count)
    backend = db_url.split(":", 1)[0]
    print(
        f"\nlist pages at {count} entities on {backend} (seeded in "
        f"{time.perf_counter() - started:.1f} s), page_size 50, over HTTP:"
    )
    url, proc = start_server(root / f"home-{backend}", key_path, db_url)
    try:
        list_latency(url, auth, 30)  # warm-up
        results = list_latency(url, auth)
        for name, (p50, p95) in results.items():
            print(f"  {name:<45} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
        worst = max(p95 for name, (_, p95) in results.items() if "search_query" not in name)
        record(f"list page p95 at {count} ({backend})", worst, unit="ms", goal=("<", 20),
               on="value")  # fmt: skip
        search = [p95 for name, (_, p95) in results.items() if "search_query" in name]
        if search:
            record(f"search_query list p95 at {count} ({backend})", search[0], unit="ms",
                   goal=("<", 20), on="value")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main()
