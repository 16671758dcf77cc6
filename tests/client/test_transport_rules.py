"""SDK rules at the HTTP boundary (httpx.MockTransport): errors, retries, token refresh,
streaming. The real-service behaviour is covered in test_cli_real_services.py."""

from __future__ import annotations

import asyncio
import json
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.client import (
    AsyncMediaNestClient,
    ConnectionFailed,
    MediaNestClient,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    Tokens,
    Unauthorized,
    ValidationError,
)
from medianest.client._base import SseParser
from medianest.client.config import (
    Credentials,
    ServiceUrls,
    credentials_path,
    load_credentials,
    save_credentials,
)

pytestmark = [pytest.mark.unit]

FAST = RetryPolicy(attempts=3, backoff=0.001)
Handler = Callable[[httpx.Request], httpx.Response]
ENTITY = {"id": 7, "is_collection": False, "md5": "a" * 32}
TOKEN_BODY = {"access_token": "new", "refresh_token": "r2", "expires_in": 900}


def client_with(handler: Handler, **kwargs: Any) -> MediaNestClient:
    return MediaNestClient(
        "http://auth",
        "http://store",
        "http://inf",
        transport=httpx.MockTransport(handler),
        retry=FAST,
        **kwargs,
    )


def expired(access: str = "old") -> Tokens:
    return Tokens(access_token=access, refresh_token="r1", expires_at=time.time() - 5)


def fresh(access: str = "old") -> Tokens:
    return Tokens(access_token=access, refresh_token="r1", expires_at=time.time() + 900)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"detail": "entity 9 not found"}, NotFound),
        (422, {"detail": [{"loc": ["body", "x"], "msg": "bad", "type": "x"}]}, ValidationError),
        (401, {"detail": "not authenticated"}, Unauthorized),
    ],
)
def test_error_status_becomes_typed_exception_with_detail(
    status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    client = client_with(lambda _: httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        client.get_entity(9)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.detail == body["detail"]  # type: ignore[attr-defined]


def test_rate_limit_carries_retry_after() -> None:
    client = client_with(
        lambda _: httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "60"})
    )
    with pytest.raises(RateLimited) as info:
        client.login("a", "b")
    assert info.value.retry_after == 60


# ---------------------------------------------------------------- retries


def test_idempotent_get_is_retried_after_503() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200, json=ENTITY)

    assert client_with(handler).get_entity(7).id == 7
    assert len(calls) == 3


def test_non_idempotent_post_is_not_retried_after_503() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, json={"detail": "busy"})

    with pytest.raises(ServerError):
        client_with(handler).create_job("face_detection", 1, force=True)
    assert calls == ["/job/face_detection"]


def test_connection_refused_is_retried_even_for_login_then_reported() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ConnectionFailed) as info:
        client_with(handler).login("a", "b")
    assert len(calls) == FAST.attempts
    assert info.value.status_code == 0


def test_read_error_after_sending_login_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("reset", request=request)

    with pytest.raises(ConnectionFailed):
        client_with(handler).login("a", "b")
    assert len(calls) == 1


def test_upload_is_retried_and_resends_the_whole_file(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x" * 300_000)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(502 if len(bodies) == 1 else 201, json=ENTITY)

    progress: list[int] = []
    result = client_with(handler).upload(photo, parent_id=3, on_bytes=progress.append)
    assert result.created
    assert len(bodies) == 2
    assert all(b"x" * 300_000 in body for body in bodies)  # the boundary differs, not the file
    assert sum(progress) == 300_000  # the rewind for the retry took its bytes back
    assert max(progress) <= 1 << 20  # read in chunks, never the whole file at once


# ---------------------------------------------------------------- tokens


def refreshing_handler(log: list[tuple[str, str | None]]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization")
        log.append((request.url.path, auth))
        if request.url.path == "/auth/refresh":
            assert json.loads(request.content) == {"refresh_token": "r1"}
            return httpx.Response(200, json=TOKEN_BODY)
        if auth != "Bearer new":
            return httpx.Response(401, json={"detail": "token expired"})
        return httpx.Response(200, json=ENTITY)

    return handler


def test_401_triggers_one_refresh_and_a_retry_and_saves_the_new_tokens() -> None:
    log: list[tuple[str, str | None]] = []
    saved: list[Tokens | None] = []
    client = client_with(refreshing_handler(log), tokens=fresh(), on_tokens=saved.append)
    assert client.get_entity(7).id == 7
    assert [p for p, _ in log] == ["/entity/7", "/auth/refresh", "/entity/7"]
    assert saved[-1] is not None
    assert saved[-1].refresh_token == "r2"


def test_second_401_after_refresh_raises_unauthorized() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/auth/refresh":
            return httpx.Response(200, json=TOKEN_BODY)
        return httpx.Response(401, json={"detail": "no"})

    with pytest.raises(Unauthorized):
        client_with(handler, tokens=fresh()).me()
    assert calls == ["/users/me", "/auth/refresh", "/users/me"]


def test_token_due_to_expire_is_refreshed_before_the_request() -> None:
    log: list[tuple[str, str | None]] = []
    client_with(refreshing_handler(log), tokens=expired()).get_entity(7)
    assert log == [("/auth/refresh", None), ("/entity/7", "Bearer new")]


def test_threads_sharing_an_expired_token_refresh_it_once() -> None:
    log: list[tuple[str, str | None]] = []
    client = client_with(refreshing_handler(log), tokens=expired())
    threads = [threading.Thread(target=client.get_entity, args=(7,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p for p, _ in log].count("/auth/refresh") == 1
    assert [p for p, _ in log].count("/entity/7") == 8


def test_static_token_is_never_refreshed() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(401, json={"detail": "bad token"})

    with pytest.raises(Unauthorized):
        client_with(handler, token="api-key").me()
    assert calls == ["/users/me"]


def test_logout_revokes_refresh_token_and_forgets_tokens() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(204)

    client = client_with(handler, tokens=expired())
    client.logout()
    assert seen == [{"refresh_token": "r1"}]  # an expired access token is not refreshed first
    assert client.tokens is None


# ---------------------------------------------------------------- streaming


def test_upload_sends_seed_multipart_fields_and_reports_known_content(tmp_path: Path) -> None:
    photo = tmp_path / "beach.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        return httpx.Response(200, json=ENTITY)

    result = client_with(handler).upload(photo, parent_id=4, label="Beach")
    assert not result.created
    body = seen[0]
    for part in (
        b'name="is_collection"',
        b"false",
        b'name="parent_id"',
        b"4",
        b'name="label"',
        b'name="image"; filename="beach.jpg"',
        b"\xff\xd8jpeg",
    ):
        assert part in body


def test_download_streams_to_folder_with_server_file_name(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["version"] == "2"
        headers = {"Content-Disposition": "attachment; filename*=UTF-8''%C3%A9t%C3%A9.jpg"}
        return httpx.Response(200, content=b"x" * 3_000_000, headers=headers)

    path = client_with(handler).download(7, tmp_path, version=2)
    assert path == tmp_path / "été.jpg"
    assert path.stat().st_size == 3_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["été.jpg"]


def test_failed_download_leaves_no_file(tmp_path: Path) -> None:
    client = client_with(lambda _: httpx.Response(404, json={"detail": "no such version"}))
    with pytest.raises(NotFound):
        client.download(7, tmp_path / "out.jpg", version=9)
    assert list(tmp_path.iterdir()) == []


def test_sse_parser_yields_json_data_with_event_name() -> None:
    parser = SseParser()
    lines = [
        "event: completed",
        'data: {"job_id": "j1",',
        'data: "progress": 100}',
        "",
        ": ping",
        "",
        "data: plain",
    ]
    events = [e for line in lines if (e := parser.feed(line)) is not None]
    events.append(parser.flush())  # type: ignore[arg-type]
    assert events == [{"job_id": "j1", "progress": 100, "event": "completed"}, {"data": "plain"}]


def test_job_events_iterates_the_stream() -> None:
    stream = b'event: started\ndata: {"job_id": "j"}\n\nevent: completed\ndata: {"job_id": "j"}\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["job_id"] == "j"
        return httpx.Response(200, content=stream, headers={"Content-Type": "text/event-stream"})

    events = list(client_with(handler).job_events(job_id="j"))
    assert [e["event"] for e in events] == ["started", "completed"]


# ---------------------------------------------------------------- async


def test_async_client_refreshes_on_401_and_parses_models() -> None:
    log: list[tuple[str, str | None]] = []

    async def run() -> int:
        async with AsyncMediaNestClient(
            "http://auth",
            "http://store",
            "http://inf",
            tokens=fresh(),
            retry=FAST,
            transport=httpx.MockTransport(refreshing_handler(log)),
        ) as client:
            entity = await client.get_entity(7)
            return entity.id

    assert asyncio.run(run()) == 7
    assert [p for p, _ in log] == ["/entity/7", "/auth/refresh", "/entity/7"]


def test_async_lookup_batches_by_one_thousand() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hashes = json.loads(request.content)["hashes"]
        sizes.append(len(hashes))
        return httpx.Response(200, json={"results": [{"hash": h, "known": False} for h in hashes]})

    async def run() -> int:
        async with AsyncMediaNestClient(
            "http://auth",
            "http://store",
            "http://inf",
            transport=httpx.MockTransport(handler),
        ) as client:
            return len(await client.lookup([f"{i:032x}" for i in range(2500)]))

    assert asyncio.run(run()) == 2500
    assert sizes == [1000, 1000, 500]


# ---------------------------------------------------------------- credentials file


def test_credentials_file_is_private_and_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIANEST_CONFIG_DIR", str(tmp_path / "cfg"))
    creds = Credentials(username="ann", urls=ServiceUrls(), tokens=fresh())
    path = save_credentials(creds)
    assert path == credentials_path() == tmp_path / "cfg" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials() == creds


def test_xdg_config_home_is_used_without_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEDIANEST_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert credentials_path() == tmp_path / "medianest" / "credentials.json"
