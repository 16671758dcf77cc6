"""Boundary stand-ins for services built in parallel (media store, auth), and server helpers.

The media store is being built by another engineer; until it exists, the inference tests talk to
this tiny FastAPI app implementing only what docs/SERVICE_CONTRACT.md promises the inference
service: ``GET /entity/{id}``, ``/entity/{id}/preview``, ``/entity/{id}/file``, ``/changes`` and
``/events``. It is served by a real uvicorn on a free port, so the HTTP clients are exercised for
real.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from PIL import Image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def jpeg_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40),
               orientation: int | None = None) -> bytes:  # fmt: skip
    img = Image.new("RGB", (width, height), color)
    buf = io.BytesIO()
    if orientation is None:
        img.save(buf, "JPEG", quality=95)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@dataclass
class Media:
    data: bytes
    type: str = "image"
    is_collection: bool = False
    version: int = 1

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()


@dataclass
class StandinStore:
    media: dict[int, Media] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    requests: list[str] = field(default_factory=list)
    _subscribers: list[asyncio.Queue[dict[str, Any]]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    url: str = ""

    def put(self, media_id: int, media: Media, op: str | None = None) -> None:
        """Add or replace a media item and append the matching change record."""
        existed = media_id in self.media
        if existed:
            media.version = self.media[media_id].version + 1
        self.media[media_id] = media
        self._change(media_id, op or ("updated" if existed else "created"), media)

    def touch(self, media_id: int) -> None:
        """A metadata-only update (same content, new version)."""
        media = self.media[media_id]
        media.version += 1
        self._change(media_id, "updated", media)

    def delete(self, media_id: int) -> None:
        media = self.media.pop(media_id)
        self._change(media_id, "deleted", media)

    def _change(self, media_id: int, op: str, media: Media) -> None:
        record = {
            "cursor": len(self.changes) + 1, "entity_id": media_id, "op": op,
            "version": media.version, "md5": media.md5, "is_collection": media.is_collection,
            "type": media.type, "at": int(time.time() * 1000),
        }  # fmt: skip
        self.changes.append(record)
        if self._loop is not None:
            for queue in list(self._subscribers):
                self._loop.call_soon_threadsafe(queue.put_nowait, record)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def availability(request: Request, call_next: Any) -> Response:
            self.requests.append(f"{request.method} {request.url.path}")
            if self.down:
                return Response(status_code=503)
            response: Response = await call_next(request)
            return response

        @app.get("/")
        def root() -> dict[str, str]:
            return {"service": "media_store (test stand-in)"}

        @app.get("/entity/{media_id}")
        def entity(media_id: int) -> dict[str, Any]:
            media = self._get(media_id)
            return {"id": media_id, "md5": media.md5, "type": media.type,
                    "is_collection": media.is_collection}  # fmt: skip

        @app.get("/entity/{media_id}/preview")
        def preview(media_id: int) -> Response:
            return Response(self._get(media_id).data, media_type="image/jpeg")

        @app.get("/entity/{media_id}/file")
        def file(media_id: int) -> Response:
            return Response(self._get(media_id).data, media_type="application/octet-stream")

        @app.get("/changes")
        def changes(since: int = 0, limit: int = 100) -> dict[str, Any]:
            items = [c for c in self.changes if c["cursor"] > since][:limit]
            return {"items": items, "next_cursor": items[-1]["cursor"] if items else since}

        @app.get("/events")
        async def events() -> StreamingResponse:
            return StreamingResponse(self._stream(), media_type="text/event-stream")

        return app

    async def _stream(self) -> AsyncIterator[str]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    record = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"event: change\ndata: {json.dumps(record)}\n\n"
        finally:
            self._subscribers.remove(queue)

    def _get(self, media_id: int) -> Media:
        if media_id not in self.media:
            raise HTTPException(404, "entity not found")
        return self.media[media_id]
