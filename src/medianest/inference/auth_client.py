"""Bearer tokens for service-to-service calls (workers → inference/store, inference → store).

A :class:`TokenSource` holds either a fixed token or credentials: it logs in at
``{auth_url}/auth/token`` (OAuth2 password form), refreshes with ``POST /auth/refresh`` shortly
before expiry, and logs in again when the refresh is refused. Thread-safe; also an ``httpx.Auth``
so any httpx client sends the header and retries once after a 401 with a fresh token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator

import httpx

log = logging.getLogger("medianest.inference.auth_client")
REFRESH_MARGIN_S = 30.0


class AuthError(Exception):
    """Credentials were refused or the auth service is unreachable."""


class TokenSource(httpx.Auth):
    def __init__(
        self,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        auth_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._token = token
        self._username = username
        self._password = password
        self._auth_url = auth_url.rstrip("/") if auth_url else None
        self._timeout = timeout
        self._refresh_token: str | None = None
        self._expires_at = float("inf") if token else 0.0
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._token or (self._username and self._password))

    def token(self, *, force: bool = False) -> str | None:
        """A valid access token (None when nothing is configured: anonymous calls)."""
        if not (self._username and self._password):
            return self._token
        with self._lock:
            if force or self._token is None or time.time() > self._expires_at - REFRESH_MARGIN_S:
                self._renew()
            return self._token

    def headers(self) -> dict[str, str]:
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self._username:
            request.headers["Authorization"] = f"Bearer {self.token(force=True)}"
            yield request

    def _renew(self) -> None:
        if self._refresh_token:
            try:
                self._store(
                    self._post("/auth/refresh", json={"refresh_token": self._refresh_token})
                )
                return
            except AuthError:
                log.info("token refresh refused; logging in again")
        form = {"username": self._username or "", "password": self._password or ""}
        self._store(self._post("/auth/token", data=form))

    def _post(self, path: str, **kwargs: object) -> dict[str, object]:
        if not self._auth_url:
            raise AuthError("no auth URL configured")
        try:
            resp = httpx.post(f"{self._auth_url}{path}", timeout=self._timeout, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise AuthError(f"auth service unreachable: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise AuthError(f"auth service answered {resp.status_code} on {path}")
        data: dict[str, object] = resp.json()
        return data

    def _store(self, data: dict[str, object]) -> None:
        token = data.get("access_token")
        if not isinstance(token, str):
            raise AuthError("auth service returned no access token")
        self._token = token
        refresh = data.get("refresh_token")
        self._refresh_token = refresh if isinstance(refresh, str) else None
        expires_in = data.get("expires_in")
        ttl = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        self._expires_at = time.time() + ttl
