"""Streaming reverse proxy: ``/api/<service>/<rest>`` -> ``<service URL>/<rest>``.

Bodies are never held whole: the request body is handed to httpx as the async iterator of the
chunks uvicorn receives (uvicorn stops reading the socket while its small buffer is full), and the
answer is relayed chunk by chunk with ``aiter_raw`` (bytes as sent, so Content-Length and
Content-Encoding stay true) through ASGI ``send``, which waits while the client's socket is
slow. That keeps memory flat for a 1 GB upload or download, and lets Range answers (206) and
Server-Sent Events through unchanged. When the client goes away the upstream connection is
closed at once, so an upstream SSE stream or download ends too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

log = logging.getLogger("medianest.web.proxy")

# RFC 9110 7.6.1 hop-by-hop fields, plus what this hop sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
REQUEST_DROPPED = HOP_BY_HOP | {"host", "cookie", "expect", "forwarded"}
RESPONSE_DROPPED = HOP_BY_HOP | {"date", "server"}  # uvicorn sends its own
ACCESS_COOKIE = "medianest_access"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _connection_listed(headers: list[tuple[str, str]]) -> set[str]:
    """Fields named in Connection are hop-by-hop for this message too."""
    listed: set[str] = set()
    for name, value in headers:
        if name == "connection":
            listed.update(part.strip().lower() for part in value.split(","))
    return listed


def request_headers(request: Request) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones, plus X-Forwarded-* and cookie auth."""
    raw = [(k.lower(), v) for k, v in request.headers.items()]
    dropped = REQUEST_DROPPED | _connection_listed(raw)
    headers = [(k, v) for k, v in raw if k not in dropped and not k.startswith("x-forwarded-")]
    has_auth = any(k == "authorization" for k, _ in headers)
    cookie = request.cookies.get(ACCESS_COOKIE)
    # <img>/<video> cannot send Authorization; the cookie stands in for reads only (no CSRF)
    if cookie and not has_auth and request.method in SAFE_METHODS:
        headers.append(("authorization", f"Bearer {cookie}"))
    if request.client:  # already the real client when uvicorn trusted a proxy in front of us
        headers.append(("x-forwarded-for", request.client.host))
    headers.append(("x-forwarded-proto", request.url.scheme))
    if host := request.headers.get("host"):
        headers.append(("x-forwarded-host", host))
    return headers


def response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    raw = [(k.decode("latin-1").lower(), v) for k, v in upstream.headers.raw]
    dropped = RESPONSE_DROPPED | _connection_listed([(k, v.decode("latin-1")) for k, v in raw])
    return [(k.encode("latin-1"), v) for k, v in raw if k not in dropped]


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


class StreamedResponse(Response):
    """Relays an open upstream response; stops (and closes upstream) when the client leaves."""

    def __init__(self, upstream: httpx.Response) -> None:
        self.upstream = upstream
        self.status_code = upstream.status_code
        self.raw_headers = response_headers(upstream)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
                await self._relay(send)
                group.cancel_scope.cancel()
        finally:
            await self.upstream.aclose()

    async def _relay(self, send: Send) -> None:
        async for chunk in self.upstream.aiter_raw():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return


class Proxy:
    """One pooled httpx client for every upstream, opened and closed by the app's lifespan."""

    def __init__(self, upstreams: dict[str, str], read_timeout_s: float) -> None:
        self.upstreams = upstreams
        timeout = httpx.Timeout(connect=5.0, read=read_timeout_s, write=None, pool=10.0)
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=50)
        self.client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    def target(self, service: str, scope: Scope) -> httpx.URL | None:
        base = self.upstreams.get(service)
        if base is None:
            return None
        # the raw path keeps the client's percent-encoding exactly
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        rest = raw_path[len(f"/api/{service}") :].decode("latin-1") or "/"
        query = scope.get("query_string", b"").decode("latin-1")
        return httpx.URL(base + rest + (f"?{query}" if query else ""))

    async def forward(self, request: Request, service: str) -> Response:
        url = self.target(service, request.scope)
        if url is None:
            return JSONResponse({"detail": f"no API named {service!r}"}, status_code=404)
        body: AsyncIterator[bytes] | None = request.stream() if _has_body(request) else None
        upstream_request = self.client.build_request(
            request.method, url, headers=request_headers(request), content=body
        )
        try:
            upstream = await self.client.send(upstream_request, stream=True)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is listening any more
        except httpx.TimeoutException:
            return JSONResponse({"detail": f"{service} did not answer in time"}, status_code=504)
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed: %s", service, type(exc).__name__)
            return JSONResponse({"detail": f"{service} is unreachable"}, status_code=502)
        return StreamedResponse(upstream)
