"""Bearer tokens for service-to-service calls (workers → inference/store, inference → store).

A :class:`TokenSource` holds either a fixed token or credentials: it logs in at
``{auth_url}/auth/token`` (OAuth2 password form), refreshes with ``POST /auth/refresh`` shortly
before expiry, and logs in again when the refresh is refused. Thread-safe; also an ``httpx.Auth``
so the SDK core (and any httpx client) sends the header and retries once after a 401 with a
fresh token. The calls to the auth service go through the SDK's request core.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator

import httpx

from medianest.client._base import Call, RetryPolicy, tokens_from
from medianest.client._endpoints import auth as ep_auth
from medianest.client._sync_core import SyncCore
from medianest.client.config import Tokens
from medianest.client.errors import ConnectionFailed, MediaNestError
from medianest.contracts.auth import TokenResponse

log = logging.getLogger("medianest.inference.auth_client")
REFRESH_MARGIN_S = 30.0
_ONCE = RetryPolicy(attempts=1)  # callers back off themselves (workers, the store client)


class AuthError(httpx.ConnectError):
    """Credentials were refused or the auth service is unreachable.

    A transport error of the request that needed the token: it never left, so the SDK core
    retries it like a refused connection, and callers see an outage, not a crash.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


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
        self._username = username
        self._password = password
        self._tokens = Tokens(access_token=token) if token else None
        self._core = SyncCore(auth_url=auth_url, timeout=timeout, retry=_ONCE) if auth_url else None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._tokens or (self._username and self._password))

    def token(self, *, force: bool = False) -> str | None:
        """A valid access token (None when nothing is configured: anonymous calls)."""
        if not (self._username and self._password):
            return self._tokens.access_token if self._tokens else None
        with self._lock:
            if force or self._due():
                self._renew()
            assert self._tokens is not None
            return self._tokens.access_token

    def _due(self) -> bool:
        tokens = self._tokens
        if tokens is None:
            return True
        return tokens.expires_at is not None and time.time() > tokens.expires_at - REFRESH_MARGIN_S

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
        current = self._tokens
        if current is not None and current.refresh_token:
            try:
                self._store(self._call(ep_auth.refresh(current.refresh_token)), current)
                return
            except AuthError:
                log.info("token refresh refused; logging in again")
        self._store(self._call(ep_auth.token(self._username or "", self._password or "")), None)

    def _call(self, call: Call[TokenResponse]) -> TokenResponse:
        if self._core is None:
            raise AuthError("no auth URL configured")
        try:
            return self._core.call(call)
        except ConnectionFailed as exc:
            raise AuthError(f"auth service unreachable: {exc.detail}") from exc
        except MediaNestError as exc:
            raise AuthError(f"auth service answered {exc.status_code} on {call.path}") from exc

    def _store(self, body: TokenResponse, previous: Tokens | None) -> None:
        data = body.model_dump()
        if not body.expires_in:
            data["expires_in"] = 300
        self._tokens = tokens_from(data, previous)

    def close(self) -> None:
        if self._core is not None:
            self._core.close()
