"""Refresh-token rotation, reuse detection, logout and revocation on account changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from medianest.authentication.models import RefreshToken, User, utcnow
from tests.authentication.conftest import ADMIN_PASSWORD, MakeUser, bearer, login

pytestmark = [pytest.mark.auth]


def _refresh(client: TestClient, token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_the_token(client: TestClient) -> None:
    first = login(client, "admin", ADMIN_PASSWORD)
    resp = _refresh(client, first["refresh_token"])
    assert resp.status_code == 200
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 900
    assert client.get("/users/me", headers=bearer(second["access_token"])).status_code == 200


def test_reusing_a_rotated_token_revokes_the_whole_family(client: TestClient) -> None:
    first = login(client, "admin", ADMIN_PASSWORD)
    second = _refresh(client, first["refresh_token"]).json()
    reuse = _refresh(client, first["refresh_token"])
    assert reuse.status_code == 401
    assert "reuse" in reuse.json()["detail"]
    assert _refresh(client, second["refresh_token"]).status_code == 401  # the thief's too


def test_reuse_does_not_touch_other_sessions(client: TestClient) -> None:
    a = login(client, "admin", ADMIN_PASSWORD)
    b = login(client, "admin", ADMIN_PASSWORD)
    _refresh(client, a["refresh_token"])
    _refresh(client, a["refresh_token"])
    assert _refresh(client, b["refresh_token"]).status_code == 200


def test_logout_revokes_the_refresh_token(client: TestClient) -> None:
    tokens = login(client, "admin", ADMIN_PASSWORD)
    resp = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 204
    assert _refresh(client, tokens["refresh_token"]).status_code == 401


def test_logout_with_unknown_token_is_204(client: TestClient) -> None:
    assert client.post("/auth/logout", json={"refresh_token": "nope"}).status_code == 204


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 513}, {"refresh_token": 5}]
)
def test_malformed_refresh_requests_get_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/auth/refresh", json=body).status_code == 422


def test_unknown_refresh_token_is_401(client: TestClient) -> None:
    assert _refresh(client, "not-a-token").status_code == 401


def test_access_token_is_not_a_refresh_token(client: TestClient) -> None:
    tokens = login(client, "admin", ADMIN_PASSWORD)
    assert _refresh(client, tokens["access_token"][:512]).status_code == 401


def test_expired_refresh_token_is_401(client: TestClient) -> None:
    tokens = login(client, "admin", ADMIN_PASSWORD)
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.sessions.begin() as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(RefreshToken).values(expires_at=past))
    resp = _refresh(client, tokens["refresh_token"])
    assert resp.status_code == 401
    assert resp.json()["detail"] == "refresh token expired"


def test_refresh_tokens_are_stored_hashed(client: TestClient) -> None:
    tokens = login(client, "admin", ADMIN_PASSWORD)
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.read_sessions.begin() as session:
        hashes = [row.token_hash for row in session.query(RefreshToken)]
    assert tokens["refresh_token"] not in hashes
    assert all(len(h) == 64 for h in hashes)


def test_own_password_change_revokes_refresh_tokens(client: TestClient) -> None:
    tokens = login(client, "admin", ADMIN_PASSWORD)
    body = {"current_password": ADMIN_PASSWORD, "new_password": "a-new-password"}
    resp = client.put("/users/me/password", json=body, headers=bearer(tokens["access_token"]))
    assert resp.status_code == 204
    assert _refresh(client, tokens["refresh_token"]).status_code == 401
    login(client, "admin", "a-new-password")


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},
        {"password": "reset-by-admin"},
    ],
)
def test_admin_changes_revoke_refresh_tokens(
    client: TestClient,
    make_user: MakeUser,
    admin_headers: dict[str, str],
    change: dict[str, Any],
) -> None:
    user = make_user("heidi")
    tokens = login(client, "heidi", "alice-password")
    resp = client.put(f"/users/{user['id']}", json=change, headers=admin_headers)
    assert resp.status_code == 200
    assert _refresh(client, tokens["refresh_token"]).status_code == 401


def test_password_reset_endpoint_revokes_refresh_tokens(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user("ivan")
    tokens = login(client, "ivan", "alice-password")
    body = {"new_password": "reset-password"}
    resp = client.put(f"/users/{user['id']}/password", json=body, headers=admin_headers)
    assert resp.status_code == 204
    assert _refresh(client, tokens["refresh_token"]).status_code == 401
    login(client, "ivan", "reset-password")


def test_deleting_a_user_revokes_refresh_tokens(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user("judy")
    tokens = login(client, "judy", "alice-password")
    assert client.delete(f"/users/{user['id']}", headers=admin_headers).status_code == 204
    assert _refresh(client, tokens["refresh_token"]).status_code == 401


def test_inactive_user_cannot_refresh_even_with_a_live_token(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user("ken")
    tokens = login(client, "ken", "alice-password")
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.sessions.begin() as session:  # deactivate without the API's revocation
        session.execute(update(User).where(User.id == user["id"]).values(is_active=False))
    assert _refresh(client, tokens["refresh_token"]).status_code == 401


def test_login_purges_the_users_expired_refresh_tokens(client: TestClient) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    db = client.app.state.db  # type: ignore[attr-defined]
    with db.sessions.begin() as session:
        session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    login(client, "admin", ADMIN_PASSWORD)
    with db.read_sessions.begin() as session:
        assert session.query(RefreshToken).count() == 1
