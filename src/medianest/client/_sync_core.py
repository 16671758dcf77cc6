"""Sending calls synchronously: retries, token refresh (once per 401), streaming."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from medianest.client import _downloads
from medianest.client._base import (
    Call,
    CoreState,
    RetryPolicy,
    SseParser,
    no_files,
    request_kwargs,
    resolve_urls,
    tokens_from,
)
from medianest.client._endpoints import auth as ep_auth
from medianest.client.config import Tokens
from medianest.client.errors import ConnectionFailed, error_for

T = TypeVar("T")
__all__ = ["SyncCore", "resolve_urls"]


class SyncCore(CoreState):
    """The sending half of :class:`~medianest.client.MediaNestClient` (thread-safe).

    Also the HTTP core of the services' own clients (the inference service's store client, the
    worker's client, the token source): ``auth`` takes an ``httpx.Auth`` that supplies their
    bearer tokens, ``call(..., retry=...)`` their per-call retry policy.
    """

    def __init__(
        self,
        auth_url: str | None = None,
        store_url: str | None = None,
        inference_url: str | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens | None], None] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        token = token or api_key  # a key is sent as a bearer; every service accepts it
        super().__init__(
            auth_url, store_url, inference_url, token, tokens, on_tokens, timeout, retry
        )
        self._http = httpx.Client(timeout=timeout, transport=transport, auth=auth)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ sending

    def call(
        self, call: Call[T], *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> T:
        """Send ``call`` (retrying and refreshing as needed) and parse its response."""
        limit = httpx.Timeout(timeout) if timeout is not None else None
        response = self._send(call, timeout=limit, retry=retry)
        return call.parse(response)

    def _send(
        self,
        call: Call[Any],
        *,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        policy = retry or self.retry
        if call.auth and self._state.refresh_due():
            self._refresh(self._state.access_token)
        attempt, refreshed, started = 0, False, time.monotonic()
        while True:
            token = self._state.access_token
            try:
                response = self._attempt(call, token, stream, timeout)
            except httpx.TransportError as exc:
                delay = policy.after_error(call, exc, attempt, time.monotonic() - started)
                if delay is None:
                    raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.is_success:
                    return response
                if self._should_refresh(call, response, refreshed):
                    refreshed = self._refresh(token)
                    continue
                delay = policy.after_status(call, response, attempt, time.monotonic() - started)
                if delay is None:
                    raise error_for(response)
            attempt += 1
            time.sleep(delay)

    def _attempt(
        self, call: Call[Any], token: str | None, stream: bool, timeout: httpx.Timeout | None
    ) -> httpx.Response:
        kwargs = request_kwargs(call, self.urls, token)
        if timeout is not None:
            kwargs["timeout"] = timeout
        with (call.files or no_files)() as files:
            request = self._http.build_request(files=files or None, **kwargs)
            response = self._http.send(request, stream=stream)
        if stream and not response.is_success:
            response.read()
            response.close()
        return response

    def _refresh(self, stale: str | None) -> bool:
        """Refresh once for everyone: threads that saw the same stale token wait and reuse."""
        with self._lock:
            current = self._state.tokens
            if current is None or current.access_token != stale:
                return True
            if not current.refresh_token:
                return False
            body = self.call(ep_auth.refresh(current.refresh_token))
            self._state.set(tokens_from(body.model_dump(), current))
            return True

    # ------------------------------------------------------------ streaming

    def _download(self, call: Call[Any], dest: Path | str, fallback_name: str) -> Path:
        response = self._send(call, stream=True)
        try:
            target = _downloads.target_path(dest, response, fallback_name)
            with _downloads.atomic_writer(target) as fh:
                for chunk in response.iter_bytes(_downloads.CHUNK):
                    fh.write(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download interrupted: {exc}") from exc
        finally:
            response.close()
        return target

    def _sse(self, call: Call[Any]) -> Iterator[dict[str, Any]]:
        timeout = httpx.Timeout(self.timeout, read=None)
        response = self._send(call, stream=True, timeout=timeout)
        parser = SseParser()
        try:
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"event stream closed: {exc}") from exc
        finally:
            response.close()
        last = parser.flush()
        if last is not None:
            yield last

    # ------------------------------------------------------------ session

    def login(self, username: str, password: str) -> Tokens:
        """Log in with a password; later calls carry the token and refresh it when due."""
        body = self.call(ep_auth.token(username, password))
        self._state.static = False
        self._state.set(tokens_from(body.model_dump()))
        assert self._state.tokens is not None
        return self._state.tokens

    def logout(self) -> None:
        """Revoke the refresh token on the server and forget the tokens (even if that fails)."""
        tokens = self._state.tokens
        try:
            if tokens and tokens.refresh_token:
                self.call(ep_auth.logout(tokens.refresh_token, tokens.access_token))
        finally:
            self._state.set(None)
