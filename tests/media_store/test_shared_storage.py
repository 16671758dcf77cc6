"""Two media store processes on different ports serve one library from PostgreSQL and an S3
bucket (moto's standalone server): an upload through one is read through the other, and racing
identical uploads through both end as one entity and one stored file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from medianest.media_store.db import MIGRATIONS_DIR
from tests.conftest import DatabaseFactory, TokenMinter
from tests.inference.standin import free_port
from tests.media_store import media_factory as mf
from tests.media_store.s3 import moto_server
from tests.polling import wait_http_ready

pytestmark = [pytest.mark.media_store, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def two_stores(
    db_factory: DatabaseFactory, token_minter: TokenMinter, tmp_path: Path
) -> Iterator[tuple[str, str, str]]:
    if db_factory.backend != "postgresql":
        pytest.skip("store hosts share a PostgreSQL server; a SQLite file belongs to one host")
    database = db_factory.url(MIGRATIONS_DIR)
    with moto_server() as s3:
        bucket = s3.new_bucket()
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDIANEST_", "MEDIA_STORE_", "AWS_"))
        }
        base.update(s3.env, MEDIA_STORE_DATABASE_URL=database,
                    MEDIA_STORE_STORAGE_URL=f"s3://{bucket}/shared",
                    MEDIANEST_PUBLIC_KEY_PATH=str(token_minter.public_key_path),
                    MEDIANEST_LOG_LEVEL="WARNING")  # fmt: skip
        procs, urls = [], []
        try:
            for name in ("a", "b"):
                port = free_port()
                env = {**base, "MEDIANEST_HOME": str(tmp_path / name)}
                log = (tmp_path / f"{name}.log").open("wb")
                cmd = [
                    sys.executable,
                    "-m",
                    "medianest",
                    "serve",
                    "media_store",
                    "--port",
                    str(port),
                ]
                procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
                urls.append(f"http://127.0.0.1:{port}")
                wait_http_ready(urls[-1] + "/", procs[-1], 90, (tmp_path / f"{name}.log").read_text)
            yield urls[0], urls[1], bucket
            assert len(s3.keys(bucket, "shared/files/")) == 4
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)


def _post(
    client: httpx.Client,
    url: str,
    photo: bytes,
    barrier: threading.Barrier,
    answers: dict[str, httpx.Response],
) -> None:
    barrier.wait()
    form = {"is_collection": "false"}
    answers[url] = client.post(f"{url}/entity/", data=form, files={"image": ("same.jpg", photo)})


def test_upload_through_one_store_read_through_the_other(
    two_stores: tuple[str, str, str], token_minter: TokenMinter
) -> None:
    a, b, _ = two_stores
    writer = token_minter.header(sub=7, permissions=["media_store_write", "media_store_read"])
    data = mf.jpeg_bytes(seed=400, size=(640, 480))
    form = {"is_collection": "false"}
    with httpx.Client(timeout=60, headers=writer) as client:
        made = client.post(f"{a}/entity/", data=form, files={"image": ("a.jpg", data)})
        assert made.status_code == 201, made.text
        entity_id = made.json()["id"]
        assert client.get(f"{b}/entity/{entity_id}/file").content == data
        part = client.get(f"{b}/entity/{entity_id}/file", headers={"Range": "bytes=100-199"})
        assert part.content == data[100:200]
        assert client.get(f"{b}/entity/{entity_id}/thumbnail").status_code == 200

        for seed in (401, 402, 403):  # identical bytes through both stores at the same moment
            photo = mf.jpeg_bytes(seed=seed)
            barrier = threading.Barrier(2)
            answers: dict[str, httpx.Response] = {}

            threads = [
                threading.Thread(target=_post, args=(client, url, photo, barrier, answers))
                for url in (a, b)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(r.status_code for r in answers.values()) == [200, 201]
            assert answers[a].json()["id"] == answers[b].json()["id"]
        listed = client.get(f"{b}/entity/", params={"page_size": 100}).json()["items"]
        assert len(listed) == 4
