"""API keys as every service checks them (``medianest.common.api_keys``): exchanged at the auth
service, cached no longer than the exchanged token lives, refused locally when malformed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from medianest.common.api_keys import ApiKeyAuthenticator, key_digest
from medianest.common.app import build_app, no_lifespan, token_verifier_for
from medianest.common.errors import Unauthorized
from medianest.common.security import CurrentUser, StoreWrite
from medianest.common.settings import CommonSettings
from tests.conftest import TokenMinter

pytestmark = [pytest.mark.unit, pytest.mark.auth]
KEY = "mnk_" + "k" * 43
OTHER = "mnk_" + "o" * 43


class Exchange:
    """Plays the auth service's exchange: signs real tokens with the test key pair."""

    def __init__(self, minter: TokenMinter, **claims: Any) -> None:
        self.minter = minter
        self.claims = {"sub": 7, "permissions": ["media_store_write"], "api_key_id": 3, **claims}
        self.calls: list[str] = []
        self.refuse: str | None = None

    def __call__(self, raw: str) -> str:
        self.calls.append(raw)
        if self.refuse:
            raise Unauthorized(self.refuse)
        return self.minter(**self.claims)


def _authenticator(
    minter: TokenMinter, cache_s: float = 60.0, **claims: Any
) -> tuple[ApiKeyAuthenticator, Exchange]:
    settings = CommonSettings(public_key_path=minter.public_key_path)
    exchange = Exchange(minter, **claims)
    return ApiKeyAuthenticator(exchange, token_verifier_for(settings), cache_s), exchange


def test_a_key_is_exchanged_once_then_served_from_the_cache(token_minter: TokenMinter) -> None:
    auth, exchange = _authenticator(token_minter)
    first = auth.authenticate(KEY)
    assert auth.authenticate(KEY) == first
    assert first.id == 7
    assert first.permissions == {"media_store_write"}
    assert first.api_key_id == 3
    assert exchange.calls == [KEY]
    auth.authenticate(OTHER)
    assert exchange.calls == [KEY, OTHER]


def test_without_cache_every_request_asks_the_auth_service(token_minter: TokenMinter) -> None:
    auth, exchange = _authenticator(token_minter, cache_s=0)
    auth.authenticate(KEY)
    exchange.claims["permissions"] = []  # the owner was demoted meanwhile
    assert auth.authenticate(KEY).permissions == frozenset()
    assert len(exchange.calls) == 2


def test_cache_never_outlives_the_exchanged_token(token_minter: TokenMinter) -> None:
    auth, exchange = _authenticator(token_minter, cache_s=3600, ttl=3)
    auth.authenticate(KEY)
    auth.authenticate(KEY)
    assert len(exchange.calls) == 2  # a 3 s token is not worth caching past its margin


def test_a_refused_key_is_refused_again_without_asking(token_minter: TokenMinter) -> None:
    auth, exchange = _authenticator(token_minter)
    exchange.refuse = "invalid API key"
    for _ in range(3):
        with pytest.raises(Unauthorized, match="invalid API key"):
            auth.authenticate(KEY)
    assert len(exchange.calls) == 1


@pytest.mark.parametrize(
    "raw", ["", "mnk_", "mnk_" + "a" * 42, "mnk_" + "a" * 44, "mnk_" + "$" * 43]
)
def test_malformed_keys_are_refused_without_asking(token_minter: TokenMinter, raw: str) -> None:
    auth, exchange = _authenticator(token_minter)
    with pytest.raises(Unauthorized, match="malformed API key"):
        auth.authenticate(raw)
    assert exchange.calls == []


def test_a_plain_access_token_from_the_exchange_is_not_trusted(token_minter: TokenMinter) -> None:
    auth, _ = _authenticator(token_minter, api_key_id=None)
    with pytest.raises(Unauthorized):
        auth.authenticate(KEY)


def test_the_cache_is_keyed_by_digest_not_by_the_key(token_minter: TokenMinter) -> None:
    auth, _ = _authenticator(token_minter)
    auth.authenticate(KEY)
    assert KEY not in repr(auth._cache)
    assert key_digest(KEY) in auth._cache


def test_the_cache_is_bounded(token_minter: TokenMinter) -> None:
    auth, _ = _authenticator(token_minter)
    auth.max_entries = 2
    for n in range(4):
        auth.authenticate("mnk_" + str(n) * 43)
    assert len(auth._cache) == 2


@pytest.fixture
def app_client(token_minter: TokenMinter) -> tuple[TestClient, Exchange]:
    settings = CommonSettings(public_key_path=token_minter.public_key_path)
    app: FastAPI = build_app("test", settings, no_lifespan)
    auth, exchange = _authenticator(token_minter)
    verifier = token_verifier_for(settings)
    verifier.api_keys = auth
    app.state.token_verifier = verifier

    @app.get("/write")
    def write(user: StoreWrite) -> dict[str, Any]:
        return {"user": user.id, "key": user.api_key_id}

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, Any]:
        return {"user": user.id}

    return TestClient(app), exchange


def test_routes_accept_a_key_by_either_header(app_client: tuple[TestClient, Exchange]) -> None:
    client, _ = app_client
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
        resp = client.get("/write", headers=headers)
        assert resp.status_code == 200
        assert resp.json() == {"user": 7, "key": 3}


def test_a_key_without_the_permission_is_403(app_client: tuple[TestClient, Exchange]) -> None:
    client, exchange = app_client
    exchange.claims["permissions"] = ["media_store_read"]
    assert client.get("/write", headers={"X-API-Key": KEY}).status_code == 403
    assert client.get("/me", headers={"X-API-Key": KEY}).status_code == 200


def test_two_credentials_at_once_are_refused(
    app_client: tuple[TestClient, Exchange], token_minter: TokenMinter
) -> None:
    client, _ = app_client
    headers = {"X-API-Key": KEY, **token_minter.admin()}
    resp = client.get("/me", headers=headers)
    assert resp.status_code == 401
    assert "one credential" in resp.json()["detail"]


def test_services_without_key_support_refuse_keys(token_minter: TokenMinter) -> None:
    settings = CommonSettings(public_key_path=token_minter.public_key_path)
    verifier = token_verifier_for(settings)
    verifier.api_keys = None
    with pytest.raises(Unauthorized, match="not accepted"):
        verifier.authenticate_key(KEY)


def test_wildcard_permission_passes_every_permission_check_but_not_admin(
    app_client: tuple[TestClient, Exchange], token_minter: TokenMinter
) -> None:
    client, _ = app_client
    assert client.get("/write", headers=token_minter.header(permissions=["*"])).status_code == 200
    assert client.get("/write", headers=token_minter.header(permissions=["x:y"])).status_code == 403
