"""API keys at the auth service: created within the owner's permissions, stored hashed, shown
once, listed with last use, revocable (by the owner and by admins), and exchanged for access
tokens that never grant more than the key's scopes or the owner's current permissions."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update

from medianest.authentication.app import create_app
from medianest.authentication.config import Settings
from medianest.authentication.models import ApiKey
from medianest.common.db import normalise_url
from medianest.common.logging import JsonFormatter
from tests.authentication.conftest import ADMIN_PASSWORD, MakeUser, bearer, login

pytestmark = [pytest.mark.auth, pytest.mark.integration]
Headers = dict[str, str]


def _user_headers(client: TestClient, make_user: MakeUser, perms: list[str]) -> Headers:
    make_user("alice", "alice-password", permissions=perms)
    return bearer(login(client, "alice", "alice-password")["access_token"])


def _create(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    body = {"name": "script", "permissions": ["media_store_read"], **body}
    resp = client.post("/users/me/api-keys", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def _exchange(client: TestClient, key: str) -> dict[str, Any]:
    resp = client.post("/auth/api-key-token", headers={"X-API-Key": key})
    assert resp.status_code == 200, resp.text
    token = resp.json()
    claims: dict[str, Any] = jwt.decode(token["access_token"], options={"verify_signature": False})
    return {**token, "claims": claims}


def _engine_url(settings: Settings) -> str:
    return normalise_url(settings.db_url())


def test_key_is_shown_once_and_stored_only_as_its_sha256(
    client: TestClient, make_user: MakeUser, settings: Settings
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read", "media_store_write"])
    created = _create(client, headers, name="backup script")
    key = created["key"]
    assert key.startswith("mnk_")
    assert len(key) == 47
    assert created["prefix"] == key[:12]
    assert created["last_used_at"] is None
    listed = client.get("/users/me/api-keys", headers=headers).json()
    assert [k["name"] for k in listed] == ["backup script"]
    assert "key" not in listed[0]
    assert key not in json.dumps(listed)
    engine = create_engine(_engine_url(settings))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM api_keys"))]
    engine.dispose()
    assert rows[0]["secret_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(rows, default=str)
    assert key[12:] not in json.dumps(rows, default=str)


def test_key_works_by_both_headers_and_records_last_use(
    client: TestClient, make_user: MakeUser
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    key = _create(client, headers)["key"]
    assert client.get("/users/me", headers={"X-API-Key": key}).json()["username"] == "alice"
    assert client.get("/users/me", headers=bearer(key)).json()["username"] == "alice"
    listed = client.get("/users/me/api-keys", headers=headers).json()
    assert listed[0]["last_used_at"] is not None


def test_exchanged_token_carries_only_the_key_scopes(
    client: TestClient, make_user: MakeUser
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read", "media_store_write"])
    key = _create(client, headers, permissions=["media_store_read"])["key"]
    token = _exchange(client, key)
    assert token["claims"]["permissions"] == ["media_store_read"]
    assert token["claims"]["is_admin"] is False
    assert token["claims"]["sub"] == str(client.get("/users/me", headers=headers).json()["id"])
    assert "refresh_token" not in token
    assert 0 < token["expires_in"] <= 300


def test_key_cannot_get_permissions_the_user_does_not_hold(
    client: TestClient, make_user: MakeUser
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    for wanted in (["media_store_write"], ["*"], ["media_store_read", "x.y"]):
        body = {"name": "k", "permissions": wanted}
        resp = client.post("/users/me/api-keys", json=body, headers=headers)
        assert resp.status_code == 403, wanted
        assert "do not hold" in resp.json()["detail"]
    assert client.get("/users/me/api-keys", headers=headers).json() == []


def test_only_admins_create_admin_keys(client: TestClient, make_user: MakeUser) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    body = {"name": "k", "permissions": ["media_store_read"], "is_admin": True}
    assert client.post("/users/me/api-keys", json=body, headers=headers).status_code == 403


def test_demoting_the_owner_demotes_the_key(
    client: TestClient, make_user: MakeUser, admin_headers: Headers
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read", "media_store_write"])
    key = _create(client, headers, permissions=["media_store_read", "media_store_write"])["key"]
    alice = client.get("/users/me", headers=headers).json()["id"]
    resp = client.put(
        f"/users/{alice}", json={"permissions": ["media_store_read"]}, headers=admin_headers
    )
    assert resp.status_code == 200
    assert _exchange(client, key)["claims"]["permissions"] == ["media_store_read"]
    client.put(f"/users/{alice}", json={"permissions": []}, headers=admin_headers)
    assert _exchange(client, key)["claims"]["permissions"] == []


def test_admin_key_loses_admin_when_the_owner_does(
    client: TestClient, make_user: MakeUser, admin_headers: Headers
) -> None:
    make_user("boss", "boss-password", is_admin=True)
    boss = bearer(login(client, "boss", "boss-password")["access_token"])
    key = _create(client, boss, permissions=["media_store_write"], is_admin=True)["key"]
    assert _exchange(client, key)["claims"]["is_admin"] is True
    assert client.get("/users/", headers=bearer(key)).status_code == 200
    boss_id = client.get("/users/me", headers=boss).json()["id"]
    client.put(f"/users/{boss_id}", json={"is_admin": False}, headers=admin_headers)
    claims = _exchange(client, key)["claims"]
    assert claims["is_admin"] is False
    assert claims["permissions"] == []  # boss holds no permission of their own any more
    assert client.get("/users/", headers=bearer(key)).status_code == 403


def test_admin_key_without_admin_flag_cannot_use_admin_routes(
    client: TestClient, admin_headers: Headers
) -> None:
    key = _create(client, admin_headers, permissions=["media_store_read"])["key"]
    assert client.get("/users/", headers=bearer(key)).status_code == 403


def test_wildcard_key_of_a_user_gets_exactly_the_user_permissions(
    client: TestClient, make_user: MakeUser, admin_headers: Headers
) -> None:
    headers = _user_headers(client, make_user, ["*"])
    key = _create(client, headers, permissions=["*"])["key"]
    assert _exchange(client, key)["claims"]["permissions"] == ["*"]
    alice = client.get("/users/me", headers=headers).json()["id"]
    client.put(f"/users/{alice}", json={"permissions": ["app:export"]}, headers=admin_headers)
    assert _exchange(client, key)["claims"]["permissions"] == ["app:export"]


def test_revoked_key_is_refused(client: TestClient, make_user: MakeUser) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    created = _create(client, headers)
    assert client.get("/users/me", headers=bearer(created["key"])).status_code == 200
    resp = client.delete(f"/users/me/api-keys/{created['id']}", headers=headers)
    assert resp.status_code == 204
    resp = client.post("/auth/api-key-token", headers={"X-API-Key": created["key"]})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "invalid API key"}
    assert client.get("/users/me", headers=bearer(created["key"])).status_code == 401
    again = client.delete(f"/users/me/api-keys/{created['id']}", headers=headers)
    assert again.status_code == 404


def test_expired_key_is_refused(
    client: TestClient, make_user: MakeUser, settings: Settings
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    created = _create(client, headers, ttl_s=3600)
    assert _exchange(client, created["key"])["expires_in"] <= 300
    engine = create_engine(_engine_url(settings))
    past = datetime.now(UTC) - timedelta(seconds=1)
    with engine.begin() as conn:  # the key's hour has passed
        conn.execute(update(ApiKey).where(ApiKey.id == created["id"]).values(expires_at=past))
    engine.dispose()
    resp = client.post("/auth/api-key-token", headers={"X-API-Key": created["key"]})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "API key expired"}
    assert client.get("/users/me", headers={"X-API-Key": created["key"]}).status_code == 401


def test_token_never_outlives_its_key(client: TestClient, make_user: MakeUser) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    soon = (datetime.now(UTC) + timedelta(seconds=90)).isoformat()
    created = _create(client, headers, expires_at=soon)
    token = _exchange(client, created["key"])
    assert token["expires_in"] <= 90
    assert token["claims"]["exp"] <= datetime.fromisoformat(soon).timestamp()


BAD_BODIES: list[dict[str, Any]] = [
    {"name": "k", "permissions": ["media_store_read"], "ttl_s": 10},
    {"name": "k", "permissions": ["media_store_read"], "expires_at": "2020-01-01T00:00:00Z"},
    {"name": "k", "permissions": ["media_store_read"], "expires_at": "2099-01-01T00:00:00"},
    {
        "name": "k",
        "permissions": ["media_store_read"],
        "ttl_s": 600,
        "expires_at": "2099-01-01T00:00:00Z",
    },
    {"name": "", "permissions": ["media_store_read"]},
    {"name": "k", "permissions": []},
    {"name": "k", "permissions": ["bad perm"]},
    {"name": "k" * 101, "permissions": ["media_store_read"]},
    {"name": "k", "permissions": ["media_store_read"], "owner": 1},
]


def test_bad_key_requests_are_422_and_create_nothing(
    client: TestClient, make_user: MakeUser
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    for body in BAD_BODIES:
        resp = client.post("/users/me/api-keys", json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.text)
        assert "detail" in resp.json()
    assert client.get("/users/me/api-keys", headers=headers).json() == []


MALFORMED = ["mnk_", "mnk_short", "mnk_" + "a" * 44, "mnk_" + "!" * 43, "garbage", "x" * 5000]


def test_malformed_keys_are_401(client: TestClient) -> None:
    for key in MALFORMED:
        resp = client.post("/auth/api-key-token", headers={"X-API-Key": key})
        assert resp.status_code == 401, key
        assert resp.json() == {"detail": "malformed API key"}
        assert client.get("/users/me", headers={"X-API-Key": key}).status_code == 401
        if key.startswith("mnk_"):
            assert client.get("/users/me", headers=bearer(key)).status_code == 401


def test_unknown_well_formed_key_is_401(client: TestClient) -> None:
    key = "mnk_" + "A" * 43
    assert client.get("/users/me", headers=bearer(key)).status_code == 401
    resp = client.post("/auth/api-key-token", headers=bearer(key))
    assert resp.json() == {"detail": "invalid API key"}


def test_a_key_cannot_create_keys(client: TestClient, make_user: MakeUser) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    key = _create(client, headers)["key"]
    body = {"name": "child", "permissions": ["media_store_read"]}
    resp = client.post("/users/me/api-keys", json=body, headers=bearer(key))
    assert resp.status_code == 403
    assert len(client.get("/users/me/api-keys", headers=bearer(key)).json()) == 1


def test_deactivated_or_deleted_owner_makes_keys_useless(
    client: TestClient, make_user: MakeUser, admin_headers: Headers
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    created = _create(client, headers)
    alice = client.get("/users/me", headers=headers).json()["id"]
    client.put(f"/users/{alice}", json={"is_active": False}, headers=admin_headers)
    resp = client.post("/auth/api-key-token", headers={"X-API-Key": created["key"]})
    assert resp.status_code == 401
    assert client.delete(f"/users/{alice}", headers=admin_headers).status_code == 204
    assert client.get(f"/users/{alice}/api-keys", headers=admin_headers).status_code == 404


def test_admin_lists_and_revokes_anyones_keys_others_cannot(
    client: TestClient, make_user: MakeUser, admin_headers: Headers
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    created = _create(client, headers)
    alice = client.get("/users/me", headers=headers).json()["id"]
    assert client.get(f"/users/{alice}/api-keys", headers=headers).status_code == 403
    assert (
        client.delete(f"/users/me/api-keys/{created['id']}", headers=admin_headers).status_code
        == 404
    )
    listed = client.get(f"/users/{alice}/api-keys", headers=admin_headers).json()
    assert [k["id"] for k in listed] == [created["id"]]
    resp = client.delete(f"/users/{alice}/api-keys/{created['id']}", headers=admin_headers)
    assert resp.status_code == 204
    assert client.get("/users/me/api-keys", headers=headers).json() == []
    assert client.get("/users/me", headers=bearer(created["key"])).status_code == 401


def test_keys_per_user_are_limited(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_keys_per_user": 2})
    with TestClient(create_app(settings)) as client:
        admin = bearer(login(client, "admin", ADMIN_PASSWORD)["access_token"])
        for _ in range(2):
            _create(client, admin)
        body = {"name": "third", "permissions": ["media_store_read"]}
        assert client.post("/users/me/api-keys", json=body, headers=admin).status_code == 409


def test_key_never_reaches_a_log_line(
    client: TestClient, make_user: MakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    headers = _user_headers(client, make_user, ["media_store_read"])
    caplog.set_level(logging.DEBUG)
    key = _create(client, headers)["key"]
    client.get("/users/me", headers={"X-API-Key": key})
    client.get("/users/me", headers=bearer(key))
    client.post("/auth/api-key-token", headers={"X-API-Key": key + "x"})
    logging.getLogger("medianest.test").info("caller sent %s", key)  # even if code logged it
    formatted = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "request" in formatted
    assert key not in formatted
    assert key[12:] not in formatted
