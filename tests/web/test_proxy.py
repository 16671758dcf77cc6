"""The web server as a browser meets it: real processes (`medianest serve web` in front of a real
media store). Static files and the SPA fallback, the API proxy with Authorization, Range, SSE and
client disconnects, and a 1 GB upload and download through it with flat memory."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from medianest.web.proxy import request_headers, response_headers
from tests.conftest import TokenMinter
from tests.media_store import media_factory as mf
from tests.web.servers import (
    Server,
    connections,
    rss_kib,
    serve,
    store_env,
    web_env,
)

pytestmark = [pytest.mark.integration]

INDEX = "<!doctype html><title>MediaNest</title><div id=root></div>"
ASSET = "assets/index-3f2a9c1b.js"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text(INDEX)
    (root / ASSET).write_text("console.log('medianest')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, token_minter: TokenMinter) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("store")
    with serve("media_store", store_env(home, token_minter.public_key_path)) as server:
        yield server


@pytest.fixture(scope="module")
def web(store: Server, dist: Path) -> Iterator[Server]:
    with serve("web", web_env(store.url, dist)) as server:
        yield server


@pytest.fixture(scope="module")
def photo(store: Server, token_minter: TokenMinter) -> dict[str, object]:
    data = mf.jpeg_bytes(seed=11, size=(320, 240))
    resp = httpx.post(
        f"{store.url}/entity/",
        data={"is_collection": "false", "label": "proxied"},
        files={"image": ("proxied.jpg", data, "image/jpeg")},
        headers=token_minter.header(sub=7, permissions=["media_store_write"]),
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


# --- the built browser app -------------------------------------------------------------------


def test_index_is_revalidated_and_hashed_assets_are_immutable(web: Server) -> None:
    index = httpx.get(f"{web.url}/")
    assert index.status_code == 200
    assert index.text == INDEX
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["x-frame-options"] == "DENY"  # never framed by another site
    assert index.headers["content-security-policy"] == "frame-ancestors 'none'"
    asset = httpx.get(f"{web.url}/{ASSET}")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]
    again = httpx.get(f"{web.url}/{ASSET}", headers={"If-None-Match": asset.headers["etag"]})
    assert again.status_code == 304
    icon = httpx.get(f"{web.url}/favicon.svg")
    assert icon.headers["cache-control"] == "no-cache"  # not hashed: revalidated


def test_unknown_paths_get_the_app_but_missing_assets_and_apis_get_404(web: Server) -> None:
    for path in ("/timeline", "/album/12", "/people/3/photos"):
        resp = httpx.get(f"{web.url}{path}")
        assert resp.status_code == 200, path
        assert resp.text == INDEX
        assert resp.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{web.url}/assets/index-0000.js").status_code == 404
    for path in ("/api/nothing/here", "/api/web/other", "/api"):
        resp = httpx.get(f"{web.url}{path}")
        assert resp.status_code == 404, path
        assert "detail" in resp.json()


def test_without_a_build_every_page_explains_how_to_build(store: Server, tmp_path: Path) -> None:
    with serve("web", web_env(store.url, tmp_path / "no-dist")) as web:
        page = httpx.get(f"{web.url}/timeline")
        assert page.status_code == 503
        assert "text/html" in page.headers["content-type"]
        assert "make web" in page.text
        assert httpx.get(f"{web.url}/api/store/health").status_code == 200  # the APIs still work


# --- the API proxy ---------------------------------------------------------------------------


def test_proxy_strips_the_prefix_keeps_the_query_and_passes_authorization(
    web: Server, store: Server, token_minter: TokenMinter
) -> None:
    direct = httpx.get(f"{store.url}/entity/", params={"page": 1, "page_size": 5})
    proxied = httpx.get(f"{web.url}/api/store/entity/", params={"page": 1, "page_size": 5})
    assert proxied.status_code == 200
    assert proxied.json() == direct.json()
    form = {"is_collection": "true", "label": "Holidays"}
    assert httpx.post(f"{web.url}/api/store/entity/", data=form).status_code == 401
    writer = token_minter.header(sub=7, permissions=["media_store_write"])
    created = httpx.post(f"{web.url}/api/store/entity/", data=form, headers=writer)
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "Holidays"


def test_range_requests_pass_through_as_206(
    web: Server, store: Server, photo: dict[str, object]
) -> None:
    url = f"/entity/{photo['id']}/file"
    whole = httpx.get(f"{store.url}{url}").content
    part = httpx.get(f"{web.url}/api/store{url}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert part.content == whole[100:200]
    etag = part.headers["etag"]
    cached = httpx.get(f"{web.url}/api/store{url}", headers={"If-None-Match": etag})
    assert cached.status_code == 304


def test_server_sent_events_stream_through_and_a_disconnect_closes_upstream(
    store: Server, dist: Path, token_minter: TokenMinter
) -> None:
    store_port = int(store.url.rsplit(":", 1)[1])
    writer = token_minter.header(sub=7, permissions=["media_store_write"])
    with (
        serve("web", web_env(store.url, dist)) as web,  # its own: no pooled connections yet
        httpx.Client(timeout=30) as client,
        client.stream("GET", f"{web.url}/api/store/events") as events,
    ):
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines) == ": connected"  # subscribed before the change below
        created = httpx.post(
            f"{store.url}/entity/", data={"is_collection": "true", "label": "live"}, headers=writer
        )
        assert created.status_code == 201
        data = next(line for line in lines if line.startswith("data: "))
        assert json.loads(data.removeprefix("data: "))["entity_id"] == created.json()["id"]
        assert connections(web.proc.pid, store_port) == 1
        events.close()  # the browser tab closed: the proxy hangs up on the store too
        _eventually(lambda: connections(web.proc.pid, store_port) == 0)


def test_an_upload_the_client_abandons_is_abandoned_upstream_too(
    store: Server, dist: Path, token_minter: TokenMinter
) -> None:
    assert store.home is not None
    store_port = int(store.url.rsplit(":", 1)[1])
    temp_dir = store.home / "media_store" / "tmp"
    writer = token_minter.header(sub=7, permissions=["media_store_write"])["Authorization"]
    before = _entity_count(store)
    with serve("web", web_env(store.url, dist)) as web:
        port = int(web.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="is_collection"\r\n\r\n'
                f'false\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; '
                f'filename="cut.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            sock.sendall(
                f"POST /api/store/entity/ HTTP/1.1\r\nHost: web\r\nAuthorization: {writer}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {64 << 20}\r\n\r\n".encode()
                + head
                + mf.jpeg_bytes(size=(64, 48), seed=4)
            )
            for _ in range(8):  # 8 of the announced 64 MiB, then the tab is closed
                sock.sendall(CHUNK)
            _eventually(lambda: connections(web.proc.pid, store_port) == 1)
            _eventually(lambda: any(temp_dir.iterdir()))  # the store is receiving it
        _eventually(lambda: connections(web.proc.pid, store_port) == 0)
        _eventually(lambda: not any(temp_dir.iterdir()))  # and dropped the partial file
    assert _entity_count(store) == before  # nothing half-stored


def _entity_count(store: Server) -> int:
    page = httpx.get(f"{store.url}/entity/", params={"include_deleted": True}).json()
    total: int = page["pagination"]["total_items"]
    return total


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def test_the_access_cookie_authorizes_reads_but_never_writes(
    web: Server, token_minter: TokenMinter, photo: dict[str, object]
) -> None:
    admin = token_minter.admin()
    on = httpx.put(f"{web.url}/api/store/admin/config/read-auth", json={"enabled": True},
                   headers=admin)  # fmt: skip
    assert on.status_code == 200, on.text
    try:
        thumb = f"{web.url}/api/store/entity/{photo['id']}/thumbnail"
        assert httpx.get(thumb).status_code == 401
        reader = token_minter(sub=8, permissions=["media_store_read", "media_store_write"])
        cookies = {"medianest_access": reader}
        assert httpx.get(thumb, cookies=cookies).status_code == 200
        form = {"is_collection": "true", "label": "csrf"}
        post = httpx.post(f"{web.url}/api/store/entity/", data=form, cookies=cookies)
        assert post.status_code == 401  # a cross-site form could send the cookie: not enough
    finally:
        off = httpx.put(f"{web.url}/api/store/admin/config/read-auth", json={"enabled": False},
                        headers=admin)  # fmt: skip
        assert off.status_code == 200


def test_a_service_that_is_down_answers_502(web: Server) -> None:
    resp = httpx.get(f"{web.url}/api/inference/health")
    assert resp.status_code == 502
    assert resp.json() == {"detail": "inference is unreachable"}


def _request(headers: list[tuple[bytes, bytes]], method: str = "GET") -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": "/api/store/entity/",
        "raw_path": b"/api/store/entity/",
        "query_string": b"",
        "headers": headers,
        "client": ("203.0.113.9", 50000),
        "scheme": "https",
        "server": ("web", 443),
    }
    return Request(scope)


def test_hop_by_hop_request_headers_are_not_forwarded() -> None:
    raw = [
        (b"host", b"photos.example"),
        (b"connection", b"keep-alive, x-private-hop"),
        (b"keep-alive", b"timeout=5"),
        (b"x-private-hop", b"1"),
        (b"te", b"trailers"),
        (b"upgrade", b"websocket"),
        (b"proxy-authorization", b"Basic Zm9vOmJhcg=="),
        (b"x-forwarded-for", b"10.6.6.6"),
        (b"authorization", b"Bearer abc"),
        (b"range", b"bytes=0-9"),
        (b"cookie", b"medianest_access=xyz"),
    ]
    names = dict(request_headers(_request(raw)))
    for dropped in ("connection", "keep-alive", "x-private-hop", "te", "upgrade",
                    "proxy-authorization", "host", "cookie"):  # fmt: skip
        assert dropped not in names
    assert names["authorization"] == "Bearer abc"  # the header wins over the cookie
    assert names["range"] == "bytes=0-9"
    assert names["x-forwarded-for"] == "203.0.113.9"  # not the client's own claim
    assert names["x-forwarded-proto"] == "https"
    assert names["x-forwarded-host"] == "photos.example"


def test_hop_by_hop_response_headers_are_not_relayed() -> None:
    upstream = httpx.Response(
        200,
        headers=[
            ("Connection", "keep-alive, X-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("X-Hop", "1"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("ETag", '"abc"'),
        ],
    )
    names = {k.decode() for k, _ in response_headers(upstream)}
    assert names == {"content-type", "cache-control", "etag"}


# --- a gigabyte through the proxy ------------------------------------------------------------

GIB = 1024**3
CHUNK = b"\0" * (1 << 20)
BOUNDARY = "medianestwebboundary"


def _upload_body(size: int, web_pid: int, peak: list[int]) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="is_collection"\r\n\r\nfalse\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    head = mf.jpeg_bytes(size=(64, 48), seed=2)  # a real picture padded to 1 GB
    yield head
    sent = len(head)
    while sent < size:
        chunk = CHUNK[: min(len(CHUNK), size - sent)]
        sent += len(chunk)
        if sent % (128 * len(CHUNK)) < len(chunk):
            peak.append(rss_kib(web_pid))
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.slow
def test_a_gigabyte_uploads_and_downloads_through_the_proxy_with_flat_memory(
    web: Server, token_minter: TokenMinter
) -> None:
    writer = token_minter.header(sub=7, permissions=["media_store_write"])
    headers = {**writer, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    before = rss_kib(web.proc.pid)
    peak: list[int] = []
    resp = httpx.post(f"{web.url}/api/store/entity/", content=_upload_body(GIB, web.proc.pid, peak),
                      headers=headers, timeout=600)  # fmt: skip
    assert resp.status_code == 201, resp.text
    entity = resp.json()
    assert entity["file_size"] == GIB
    received = 0
    with httpx.stream("GET", f"{web.url}/api/store/entity/{entity['id']}/file", timeout=600) as r:
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == GIB
        for chunk in r.iter_raw(1 << 20):
            received += len(chunk)
            if received % (128 << 20) < len(chunk):
                peak.append(rss_kib(web.proc.pid))
    assert received == GIB
    peak.append(rss_kib(web.proc.pid))
    print(f"web server RSS: {before} KiB before, {max(peak)} KiB at most while moving 2 GB")
    assert max(peak) - before < 64 * 1024, (before, peak)  # < 64 MiB growth for 2 GB moved
    gone = httpx.delete(f"{web.url}/api/store/entity/{entity['id']}", headers=writer)
    assert gone.status_code == 204
