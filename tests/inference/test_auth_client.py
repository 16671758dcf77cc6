"""TokenSource: fixed tokens, password login, refresh before expiry, re-login, retry on 401.

The authentication service is built in parallel; this stand-in implements only
``POST /auth/token`` (OAuth2 password form) and ``POST /auth/refresh`` as issue 2 specifies.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Form, HTTPException, Request

from medianest.inference.auth_client import AuthError, TokenSource
from tests.inference.standin import serve

pytestmark = [pytest.mark.inference, pytest.mark.unit]


class AuthStandin:
    def __init__(self) -> None:
        self.counter = itertools.count(1)
        self.calls: list[str] = []
        self.refresh_ok = True
        self.ttl = 3600
        self.valid: set[str] = set()

    def issue(self) -> dict[str, Any]:
        n = next(self.counter)
        self.valid.add(f"access-{n}")
        return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}",
                "token_type": "bearer", "expires_in": self.ttl}  # fmt: skip

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/auth/token")
        def token(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Any:
            self.calls.append("token")
            if (username, password) != ("worker", "secret"):
                raise HTTPException(401, "bad credentials")
            return self.issue()

        @app.post("/auth/refresh")
        def refresh(body: dict[str, str]) -> Any:
            self.calls.append("refresh")
            if not self.refresh_ok or not body.get("refresh_token", "").startswith("refresh-"):
                raise HTTPException(401, "refresh refused")
            return self.issue()

        @app.get("/protected")
        def protected(request: Request) -> Any:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid:
                raise HTTPException(401, "invalid")
            return {"token": token}

        return app


@pytest.fixture
def auth() -> Iterator[tuple[AuthStandin, str]]:
    standin = AuthStandin()
    with serve(standin.app()) as url:
        yield standin, url


def test_fixed_token_is_sent_as_is() -> None:
    source = TokenSource(token="abc")
    assert source.headers() == {"Authorization": "Bearer abc"}
    assert TokenSource().headers() == {}
    assert not TokenSource().configured


def test_password_login_then_cached(auth: tuple[AuthStandin, str]) -> None:
    standin, url = auth
    source = TokenSource(username="worker", password="secret", auth_url=url)
    assert source.token() == "access-1"
    assert source.token() == "access-1"
    assert standin.calls == ["token"]


def test_refreshes_before_expiry_and_relogs_when_refused(auth: tuple[AuthStandin, str]) -> None:
    standin, url = auth
    standin.ttl = 10  # inside the refresh margin: every call renews
    source = TokenSource(username="worker", password="secret", auth_url=url)
    assert source.token() == "access-1"
    assert source.token() == "access-2"
    standin.refresh_ok = False
    assert source.token() == "access-3"
    assert standin.calls == ["token", "refresh", "refresh", "token"]


def test_bad_credentials_raise_auth_error(auth: tuple[AuthStandin, str]) -> None:
    _, url = auth
    with pytest.raises(AuthError):
        TokenSource(username="worker", password="wrong", auth_url=url).token()


def test_httpx_auth_retries_once_after_401_with_new_token(auth: tuple[AuthStandin, str]) -> None:
    standin, url = auth
    source = TokenSource(username="worker", password="secret", auth_url=url)
    with httpx.Client(base_url=url, auth=source) as client:
        assert client.get("/protected").json() == {"token": "access-1"}
        standin.valid.clear()  # e.g. the key rotated: the cached token is refused
        assert client.get("/protected").json() == {"token": "access-2"}
