"""Fixtures of the media store tests: an app per test (SQLite and PostgreSQL), tokens, media."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from medianest.media_store.app import create_app
from medianest.media_store.config import Settings
from medianest.media_store.db import MIGRATIONS_DIR
from tests.conftest import DatabaseFactory, TokenMinter
from tests.media_store import media_factory as mf

WRITER_ID = 7


@dataclass
class Store:
    """A running media store app with the tokens tests need."""

    client: TestClient
    settings: Settings
    writer: dict[str, str]
    reader: dict[str, str]
    admin: dict[str, str]
    backend: str

    def upload(
        self,
        data: bytes,
        filename: str = "photo.jpg",
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        form = {"is_collection": "false", **{k: str(v) for k, v in fields.items()}}
        resp: httpx.Response = self.client.post(
            "/entity/",
            data=form,
            files={"image": (filename, data, "application/octet-stream")},
            headers=self.writer if headers is None else headers,
        )
        return resp

    def collection(self, label: str = "album", **fields: Any) -> dict[str, Any]:
        form = {"is_collection": "true", "label": label, **{k: str(v) for k, v in fields.items()}}
        resp = self.client.post("/entity/", data=form, headers=self.writer)
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def media(self, seed: int = 0, **fields: Any) -> dict[str, Any]:
        resp = self.upload(mf.jpeg_bytes(seed=seed, size=(320, 240)), **fields)
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def patch(self, entity_id: int, **body: Any) -> httpx.Response:
        resp: httpx.Response = self.client.patch(
            f"/entity/{entity_id}", json={"body": body}, headers=self.writer
        )
        return resp

    def changes(self, since: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        resp = self.client.get("/changes", params={"since": since, "limit": limit})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


StoreFactory = Callable[..., Store]


@pytest.fixture
def make_store(
    db_factory: DatabaseFactory, tmp_path: Path, token_minter: TokenMinter
) -> Iterator[StoreFactory]:
    """Start stores (lifespan running) on this test's backend; closed at teardown."""
    clients: list[TestClient] = []
    url = db_factory.url(MIGRATIONS_DIR)

    def start(**overrides: Any) -> Store:
        options: dict[str, Any] = {"sweep_min_age_s": 0, **overrides}
        settings = Settings(
            database_url=url,
            home=tmp_path / "home",
            public_key_path=token_minter.public_key_path,
            **options,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return Store(
            client=client,
            settings=settings,
            writer=token_minter.header(sub=WRITER_ID, permissions=["media_store_write"]),
            reader=token_minter.header(sub=8, permissions=["media_store_read"]),
            admin=token_minter.admin(),
            backend=db_factory.backend,
        )

    yield start
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()


@pytest.fixture(scope="session")
def jpeg_with_exif() -> bytes:
    spec = mf.ExifSpec(gps=(48.8584, 2.2945), orientation=6)
    return mf.jpeg_bytes(exif=spec, size=(640, 480), seed=3)


@dataclass
class LiveStore:
    """A store served by a real uvicorn server on a free port (for SSE)."""

    url: str
    store: Store


@pytest.fixture
def live_store(make_store: StoreFactory) -> Iterator[LiveStore]:
    import socket
    import threading
    import time

    import uvicorn

    store = make_store(sse_keepalive_s=0.5)
    app = create_app(store.settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield LiveStore(f"http://127.0.0.1:{port}", store)
    server.should_exit = True
    thread.join(15)
    sock.close()
