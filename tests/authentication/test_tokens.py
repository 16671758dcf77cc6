"""Login, access-token contents, public key and JWKS."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
from fastapi.testclient import TestClient

from medianest.authentication.app import create_app
from medianest.authentication.config import Settings
from medianest.common.security import PublicKeyProvider, TokenVerifier
from tests.authentication.conftest import ADMIN_PASSWORD, MakeUser, bearer, login

pytestmark = [pytest.mark.auth]


def test_login_returns_token_pair_with_expiry(client: TestClient) -> None:
    body = login(client, "admin", ADMIN_PASSWORD)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"]
    assert "." not in body["refresh_token"]


def test_login_response_is_not_cached(client: TestClient) -> None:
    resp = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert resp.headers["cache-control"] == "no-store"


def test_access_token_has_all_claims(client: TestClient, make_user: MakeUser) -> None:
    user = make_user("carol", permissions=["media_store_write", "media_store_read"])
    token = login(client, "carol", "alice-password")["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES256"
    assert header["kid"] == client.get("/auth/public-key").json()["kid"]
    assert claims["sub"] == str(user["id"])
    assert claims["username"] == "carol"
    assert claims["permissions"] == ["media_store_read", "media_store_write"]
    assert claims["is_admin"] is False
    assert claims["typ"] == "access"
    assert (claims["iss"], claims["aud"]) == ("medianest-auth", "medianest")
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) >= 16


def test_token_verifies_with_common_verifier_and_public_key_file(
    client: TestClient, settings: Settings
) -> None:
    token = login(client, "admin", ADMIN_PASSWORD)["access_token"]
    keys = PublicKeyProvider(key_path=settings.public_key_file())
    user = TokenVerifier(keys, settings.token_issuer, settings.token_audience).verify(token)
    assert user.is_admin
    assert user.username == "admin"


def test_public_key_endpoint_matches_key_file(client: TestClient, settings: Settings) -> None:
    body = client.get("/auth/public-key").json()
    assert body["algorithm"] == "ES256"
    assert body["public_key"] == settings.public_key_file().read_text()


def _rfc7638(jwk: dict[str, str]) -> str:
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def test_jwks_key_verifies_tokens_and_kid_is_thumbprint(client: TestClient) -> None:
    (jwk,) = client.get("/.well-known/jwks.json").json()["keys"]
    assert (jwk["alg"], jwk["use"], jwk["kty"], jwk["crv"]) == ("ES256", "sig", "EC", "P-256")
    assert jwk["kid"] == _rfc7638(jwk)
    assert jwk["kid"] == client.get("/auth/public-key").json()["kid"]
    key = jwt.PyJWK.from_dict(jwk)
    token = login(client, "admin", ADMIN_PASSWORD)["access_token"]
    claims = jwt.decode(token, key, algorithms=["ES256"], audience="medianest")
    assert claims["sub"] == "1"


def test_access_token_lifetime_is_configurable(settings: Settings) -> None:
    short = settings.model_copy(update={"access_token_ttl_s": 60})
    with TestClient(create_app(short)) as client:
        body = login(client, "admin", ADMIN_PASSWORD)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert body["expires_in"] == 60
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong-password"), ("nobody", ADMIN_PASSWORD), ("ADMIN", ADMIN_PASSWORD)],
)
def test_bad_credentials_get_401(client: TestClient, username: str, password: str) -> None:
    resp = client.post("/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "incorrect username or password"}
    assert resp.headers["www-authenticate"] == "Bearer"


def test_inactive_user_cannot_log_in(client: TestClient, make_user: MakeUser) -> None:
    make_user("dave", is_active=False)
    resp = client.post("/auth/token", data={"username": "dave", "password": "alice-password"})
    assert resp.status_code == 401


def test_unknown_user_verifies_against_dummy_hash(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    passwords = client.app.state.auth.passwords  # type: ignore[attr-defined]
    original = passwords.verify

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return bool(original(password_hash, password))

    monkeypatch.setattr(passwords, "verify", spy)
    client.post("/auth/token", data={"username": "ghost", "password": "whatever-pass"})
    assert calls == [passwords._dummy]  # the same argon2 work as for a real user


@pytest.mark.parametrize(
    "form",
    [
        {"username": "x" * 65, "password": "p"},
        {"username": "admin", "password": "p" * 257},
        {"username": "admin"},
        {"password": "p"},
        {"username": "admin", "password": ADMIN_PASSWORD, "grant_type": "client_credentials"},
    ],
)
def test_malformed_login_forms_get_422(client: TestClient, form: dict[str, str]) -> None:
    assert client.post("/auth/token", data=form).status_code == 422


def test_login_with_json_body_gets_422(client: TestClient) -> None:
    resp = client.post("/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert resp.status_code == 422


def test_users_me_with_fresh_token(client: TestClient) -> None:
    token = login(client, "admin", ADMIN_PASSWORD)["access_token"]
    body = client.get("/users/me", headers=bearer(token)).json()
    assert body["username"] == "admin"
    assert set(body) == {"id", "username", "is_admin", "is_active", "created_at", "permissions"}
    assert body["created_at"].endswith(("Z", "+00:00"))
