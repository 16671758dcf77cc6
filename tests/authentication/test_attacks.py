"""Forged, altered and stale tokens are refused with 401 (checked on GET /users/me)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from medianest.authentication.config import Settings
from medianest.authentication.keys import load_or_create
from tests.authentication.conftest import MakeUser, bearer, login
from tests.conftest import TokenMinter

pytestmark = [pytest.mark.auth]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "1",
        "username": "admin",
        "permissions": [],
        "is_admin": True,
        "iat": now,
        "exp": now + 600,
        "jti": "j",
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "typ": "access",
        **overrides,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _sign(settings: Settings, **overrides: Any) -> str:
    """A token signed with the service's real private key."""
    keys = load_or_create(settings.private_key_file(), settings.public_key_file())
    return keys.sign(_claims(settings, **overrides))


def _me(client: TestClient, token: str) -> int:
    status: int = client.get("/users/me", headers=bearer(token)).status_code
    return status


def test_valid_forged_by_real_key_is_accepted(client: TestClient, settings: Settings) -> None:
    assert _me(client, _sign(settings)) == 200  # sanity: the helpers make good tokens


def test_alg_none_is_rejected(client: TestClient, settings: Settings) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(settings)).encode())
    assert _me(client, f"{header}.{payload}.") == 401


def test_hs256_signed_with_public_key_is_rejected(client: TestClient, settings: Settings) -> None:
    pem = settings.public_key_file().read_bytes()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(settings)).encode())
    sig = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert _me(client, f"{header}.{payload}.{_b64(sig)}") == 401


def test_expired_token_is_rejected(client: TestClient, settings: Settings) -> None:
    past = int(time.time()) - 3600
    resp = client.get("/users/me", headers=bearer(_sign(settings, iat=past - 60, exp=past)))
    assert resp.status_code == 401
    assert resp.json()["detail"] == "token expired"


@pytest.mark.parametrize(("claim", "value"), [("iss", "someone-else"), ("aud", "other-app")])
def test_wrong_issuer_or_audience_is_rejected(
    client: TestClient, settings: Settings, claim: str, value: str
) -> None:
    assert _me(client, _sign(settings, **{claim: value})) == 401


def test_tampered_payload_is_rejected(client: TestClient, make_user: MakeUser) -> None:
    make_user("mallory")
    token = login(client, "mallory", "alice-password")["access_token"]
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["is_admin"] = True
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{sig}"
    assert client.get("/users/", headers=bearer(forged)).status_code == 401


def test_token_from_another_key_pair_is_rejected(
    client: TestClient, token_minter: TokenMinter
) -> None:
    assert _me(client, token_minter(sub=1, is_admin=True)) == 401


def test_token_from_another_key_pair_with_our_kid_is_rejected(
    client: TestClient, settings: Settings
) -> None:
    kid = client.get("/auth/public-key").json()["kid"]
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(settings), other, algorithm="ES256", headers={"kid": kid})
    assert _me(client, token) == 401


def test_token_without_sub_is_rejected(client: TestClient, settings: Settings) -> None:
    claims = _claims(settings)
    del claims["sub"]
    keys = load_or_create(settings.private_key_file(), settings.public_key_file())
    assert _me(client, keys.sign(claims)) == 401


@pytest.mark.parametrize("sub", ["abc", "", "1.5"])
def test_token_with_non_numeric_sub_is_rejected(
    client: TestClient, settings: Settings, sub: str
) -> None:
    assert _me(client, _sign(settings, sub=sub)) == 401


def test_non_access_token_type_is_rejected(client: TestClient, settings: Settings) -> None:
    assert _me(client, _sign(settings, typ="refresh")) == 401


def test_deleted_users_token_is_rejected_on_me(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user("erin")
    token = login(client, "erin", "alice-password")["access_token"]
    assert _me(client, token) == 200
    assert client.delete(f"/users/{user['id']}", headers=admin_headers).status_code == 204
    assert _me(client, token) == 401


def test_deactivated_users_token_is_rejected_on_me(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user("frank")
    token = login(client, "frank", "alice-password")["access_token"]
    client.put(f"/users/{user['id']}", json={"is_active": False}, headers=admin_headers)
    assert _me(client, token) == 401


def test_demoted_admin_token_loses_admin_routes(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    other = make_user("grace", is_admin=True)
    token = login(client, "grace", "alice-password")["access_token"]
    client.put(f"/users/{other['id']}", json={"is_admin": False}, headers=admin_headers)
    assert client.get("/users/", headers=bearer(token)).status_code == 403


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer " + "A" * 20_000,
    ],
)
def test_malformed_authorization_is_rejected(client: TestClient, authorization: str) -> None:
    resp = client.get("/users/me", headers={"Authorization": authorization})
    assert resp.status_code == 401


def test_missing_token_is_401(client: TestClient) -> None:
    assert client.get("/users/me").status_code == 401
    assert client.get("/users/").status_code == 401
