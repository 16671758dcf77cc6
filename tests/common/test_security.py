"""Token verification in ``medianest.common.security``, as every service uses it."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from medianest.common.app import build_app, no_lifespan, token_verifier_for
from medianest.common.security import StoreRead, StoreWrite
from medianest.common.settings import CommonSettings
from tests.conftest import TokenMinter

pytestmark = [pytest.mark.unit, pytest.mark.auth]


@pytest.fixture
def client(token_minter: TokenMinter) -> TestClient:
    settings = CommonSettings(public_key_path=token_minter.public_key_path)
    app = build_app("test", settings, no_lifespan)
    app.state.token_verifier = token_verifier_for(settings)
    app.state.read_auth_required = lambda: True
    _routes(app)
    return TestClient(app)


def _routes(app: FastAPI) -> None:
    @app.get("/read")
    def read(user: StoreRead) -> dict[str, Any]:
        return {"user": user.id if user else None}

    @app.get("/write")
    def write(user: StoreWrite) -> dict[str, Any]:
        return {"user": user.id}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_with_permission_passes(client: TestClient, token_minter: TokenMinter) -> None:
    r = client.get("/write", headers=token_minter.header(sub=5, permissions=["media_store_write"]))
    assert r.status_code == 200
    assert r.json() == {"user": 5}


def test_admin_passes_every_permission(client: TestClient, token_minter: TokenMinter) -> None:
    assert client.get("/write", headers=token_minter.admin()).status_code == 200


def test_missing_permission_is_403(client: TestClient, token_minter: TokenMinter) -> None:
    r = client.get("/write", headers=token_minter.header(permissions=["media_store_read"]))
    assert r.status_code == 403
    assert "media_store_write" in r.json()["detail"]


def test_no_token_is_401_with_bearer_challenge(client: TestClient) -> None:
    r = client.get("/write")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_read_open_when_read_auth_off(client: TestClient) -> None:
    client.app.state.read_auth_required = lambda: False  # type: ignore[attr-defined]
    assert client.get("/read").json() == {"user": None}


def _unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(payload)}."


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "1", "iat": now, "exp": now + 60, "iss": "medianest-auth", "aud": "medianest"}
    return {**base, "is_admin": True, **extra}


def test_alg_none_rejected(client: TestClient) -> None:
    token = _unsigned(_claims(), {"alg": "none", "typ": "JWT"})
    assert client.get("/write", headers=_auth(token)).status_code == 401


def test_hs256_with_public_key_as_secret_rejected(
    client: TestClient, token_minter: TokenMinter
) -> None:
    secret = token_minter.public_key_path.read_bytes()
    header = {"alg": "HS256", "typ": "JWT"}
    import hashlib
    import hmac

    signing_input = _unsigned(_claims(), header)[:-1]
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    assert client.get("/write", headers=_auth(token)).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"ttl": -10}, "token expired"),
        ({"iss": "someone-else"}, "invalid token"),
        ({"aud": "other-audience"}, "invalid token"),
        ({"sub": None}, "invalid token"),
        ({"sub": "not-a-number"}, "token has no valid subject"),
        ({"typ": "refresh"}, "not an access token"),
    ],
)
def test_bad_claims_rejected(
    client: TestClient, token_minter: TokenMinter, overrides: dict[str, Any], detail: str
) -> None:
    token = token_minter(is_admin=True, **overrides)
    r = client.get("/write", headers=_auth(token))
    assert r.status_code == 401
    assert r.json()["detail"] == detail


def test_tampered_payload_rejected(client: TestClient, token_minter: TokenMinter) -> None:
    header, payload, sig = token_minter(permissions=[]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["is_admin"] = True
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert client.get("/write", headers=_auth(f"{header}.{forged}.{sig}")).status_code == 401


def test_token_from_another_key_pair_rejected(client: TestClient) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), other, algorithm="ES256", headers={"kid": "test-key"})
    assert client.get("/write", headers=_auth(token)).status_code == 401


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10_000])
def test_malformed_tokens_rejected(client: TestClient, token: str) -> None:
    assert client.get("/write", headers=_auth(token)).status_code == 401


def test_public_key_fetched_from_jwks_and_refetched_on_unknown_kid(
    token_minter: TokenMinter,
) -> None:
    """The provider fetches JWKS once, caches it, and refetches when a new kid appears."""
    import httpx

    from medianest.common import security

    keys = [token_minter.private_key]
    calls = []

    def jwks() -> dict[str, Any]:
        out = []
        for i, k in enumerate(keys):
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(k.public_key()))
            out.append({**jwk, "kid": f"k{i}", "alg": "ES256", "use": "sig"})
        return {"keys": out}

    def fake_get(url: str, timeout: float) -> httpx.Response:  # noqa: ARG001
        calls.append(url)
        return httpx.Response(200, json=jwks(), request=httpx.Request("GET", url))

    provider = security.PublicKeyProvider(auth_url="http://auth.invalid")
    original = security.httpx.get
    security.httpx.get = fake_get  # type: ignore[assignment]
    try:
        assert provider.key_for("k0") is not None
        assert provider.key_for("k0") is not None
        assert len(calls) == 1
        keys.append(ec.generate_private_key(ec.SECP256R1()))
        provider._last_fetch = 0.0  # the refetch is rate limited; pretend time has passed
        assert provider.key_for("k1") is not None
        assert len(calls) == 2
    finally:
        security.httpx.get = original  # type: ignore[assignment]
