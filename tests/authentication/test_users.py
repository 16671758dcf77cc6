"""User management: admin CRUD, validation, the self and last-admin guards, own password."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.authentication.conftest import ADMIN_PASSWORD, MakeUser, bearer, login

pytestmark = [pytest.mark.auth]


def test_admin_creates_and_reads_a_user(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    created = make_user("alice", permissions=["media_store_read", "media_store_read"])
    assert created["permissions"] == ["media_store_read"]
    assert created["is_admin"] is False
    assert created["is_active"] is True
    got = client.get(f"/users/{created['id']}", headers=admin_headers).json()
    assert got == created
    assert "password" not in str(got)
    assert "hash" not in str(got)


def test_list_users_with_skip_and_limit(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    for name in ("u-one", "u-two", "u-three"):
        make_user(name)
    everyone = client.get("/users/", headers=admin_headers).json()
    assert [u["username"] for u in everyone] == ["admin", "u-one", "u-two", "u-three"]
    page = client.get("/users/?skip=1&limit=2", headers=admin_headers).json()
    assert [u["username"] for u in page] == ["u-one", "u-two"]
    assert client.get("/users/?skip=99", headers=admin_headers).json() == []


@pytest.mark.parametrize("query", ["skip=-1", "limit=0", "limit=1001", "skip=abc"])
def test_bad_paging_gets_422(client: TestClient, admin_headers: dict[str, str], query: str) -> None:
    assert client.get(f"/users/?{query}", headers=admin_headers).status_code == 422


def test_update_replaces_permissions_and_keeps_other_fields(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user("bob", permissions=["media_store_read"])
    body = {"permissions": ["ai_inference_support"]}
    resp = client.put(f"/users/{user['id']}", json=body, headers=admin_headers)
    assert resp.status_code == 200
    assert resp.json()["permissions"] == ["ai_inference_support"]
    assert resp.json()["username"] == "bob"


def test_rename_user(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user("bob")
    resp = client.put(f"/users/{user['id']}", json={"username": "robert"}, headers=admin_headers)
    assert resp.json()["username"] == "robert"
    login(client, "robert", "alice-password")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "long-enough"},
        {"username": "a" * 65, "password": "long-enough"},
        {"username": "bad name", "password": "long-enough"},
        {"username": "bad/name", "password": "long-enough"},
        {"username": "émile", "password": "long-enough"},
        {"username": "okname", "password": "short"},
        {"username": "okname", "password": "p" * 257},
        {"username": "okname", "password": "long-enough", "permissions": ["root!"]},
        {"username": "okname", "password": "long-enough", "permissions": ["a b"]},
        {"username": "okname", "password": "long-enough", "permissions": [""]},
        {"username": "okname", "password": "long-enough", "permissions": ["p" * 65]},
        {"username": "okname", "password": "long-enough", "is_superuser": True},
        {"username": "okname"},
        {"username": 12345, "password": "long-enough"},
    ],
)
def test_invalid_user_bodies_get_clear_422(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    resp = client.post("/users/", json=body, headers=admin_headers)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"][0] == "body"


def test_malformed_json_gets_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}
    resp = client.post("/users/", content=b"{not json", headers=headers)
    assert resp.status_code == 422


def test_duplicate_username_is_409_regardless_of_case(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    make_user("alice")
    for name in ("alice", "ALICE"):
        body = {"username": name, "password": "long-enough"}
        assert client.post("/users/", json=body, headers=admin_headers).status_code == 409


def test_rename_onto_existing_username_is_409(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    make_user("alice")
    bob = make_user("bob")
    resp = client.put(f"/users/{bob['id']}", json={"username": "Alice"}, headers=admin_headers)
    assert resp.status_code == 409


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_user_is_404(
    client: TestClient, admin_headers: dict[str, str], method: str
) -> None:
    resp = client.request(method, "/users/9999", json={}, headers=admin_headers)
    assert resp.status_code == 404


@pytest.mark.parametrize("user_id", ["0", "abc", "99999999999999999999"])
def test_bad_user_ids_get_422(
    client: TestClient, admin_headers: dict[str, str], user_id: str
) -> None:
    assert client.get(f"/users/{user_id}", headers=admin_headers).status_code == 422


def test_non_admin_gets_403_on_admin_routes(client: TestClient, make_user: MakeUser) -> None:
    user = make_user("alice", permissions=["media_store_write"])
    headers = bearer(login(client, "alice", "alice-password")["access_token"])
    assert client.get("/users/", headers=headers).status_code == 403
    assert client.get(f"/users/{user['id']}", headers=headers).status_code == 403
    body = {"username": "zed", "password": "long-enough"}
    assert client.post("/users/", json=body, headers=headers).status_code == 403
    assert client.delete(f"/users/{user['id']}", headers=headers).status_code == 403


def test_admin_cannot_delete_or_deactivate_themselves(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    make_user("second-admin", is_admin=True)  # so the last-admin rule is not what stops it
    assert client.delete("/users/1", headers=admin_headers).status_code == 409
    resp = client.put("/users/1", json={"is_active": False}, headers=admin_headers)
    assert resp.status_code == 409


def test_last_active_admin_cannot_be_demoted(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    resp = client.put("/users/1", json={"is_admin": False}, headers=admin_headers)
    assert resp.status_code == 409
    assert "last active administrator" in resp.json()["detail"]


def test_other_admin_can_be_removed_while_one_remains(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    other = make_user("second-admin", is_admin=True)
    assert client.delete(f"/users/{other['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"/users/{other['id']}", headers=admin_headers).status_code == 404


def test_admin_can_demote_themselves_when_another_admin_exists(
    client: TestClient, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    make_user("second-admin", is_admin=True)
    resp = client.put("/users/1", json={"is_admin": False}, headers=admin_headers)
    assert resp.status_code == 200


def test_change_own_password_needs_current_password(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    headers = bearer(login(client, "alice", "alice-password")["access_token"])
    wrong = {"current_password": "not-it", "new_password": "brand-new-pass"}
    assert client.put("/users/me/password", json=wrong, headers=headers).status_code == 403
    short = {"current_password": "alice-password", "new_password": "short"}
    assert client.put("/users/me/password", json=short, headers=headers).status_code == 422
    good = {"current_password": "alice-password", "new_password": "brand-new-pass"}
    assert client.put("/users/me/password", json=good, headers=headers).status_code == 204
    login(client, "alice", "brand-new-pass")
    resp = client.post("/auth/token", data={"username": "alice", "password": "alice-password"})
    assert resp.status_code == 401


def test_change_own_password_needs_a_token(client: TestClient) -> None:
    body = {"current_password": ADMIN_PASSWORD, "new_password": "brand-new-pass"}
    assert client.put("/users/me/password", json=body).status_code == 401


def test_me_shows_permissions_of_a_regular_user(client: TestClient, make_user: MakeUser) -> None:
    make_user("alice", permissions=["media_store_write"])
    headers = bearer(login(client, "alice", "alice-password")["access_token"])
    me = client.get("/users/me", headers=headers).json()
    assert me["username"] == "alice"
    assert me["permissions"] == ["media_store_write"]


def test_oversize_body_gets_422_not_500(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = {"username": "a" * 1_000_000, "password": "p" * 1_000_000, "permissions": ["x"] * 10_000}
    resp = client.post("/users/", json=body, headers=admin_headers)
    assert resp.status_code == 422
    assert len(resp.content) < 100_000  # the error does not echo the input back


def test_any_well_formed_permission_and_the_wildcard_can_be_granted(
    client: TestClient, make_user: MakeUser
) -> None:
    perms = ["*", "app.export", "photos:share", "media_store_read", "X_1"]
    created = make_user("carol", permissions=perms)
    assert created["permissions"] == sorted(perms)
    token = login(client, "carol", "alice-password")["access_token"]
    me = client.get("/users/me", headers=bearer(token)).json()
    assert me["permissions"] == sorted(perms)
