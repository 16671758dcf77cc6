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
    RetryPolicy,
    SseParser,
    TokenState,
    no_files,
    request_kwargs,
    tokens_from,
)
from medianest.client._endpoints import auth as ep_auth
from medianest.client.config import ServiceUrls, Tokens
from medianest.client.errors import ConnectionFailed, error_for

T = TypeVar("T")


def resolve_urls(
    auth_url: str | None, store_url: str | None, inference_url: str | None
) -> ServiceUrls:
    env = ServiceUrls.from_env()
    return ServiceUrls(
        auth_url=auth_url or env.auth_url,
        store_url=store_url or env.store_url,
        inference_url=inference_url or env.inference_url,
    )


class SyncCore:
    """The sending half of :class:`~medianest.client.MediaNestClient` (thread-safe)."""

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
    ) -> None:
        self.urls = resolve_urls(auth_url, store_url, inference_url)
        token = token or api_key  # a key is sent as a bearer; every service accepts it
        static = tokens is None and token is not None
        initial = tokens or (Tokens(access_token=token) if token else None)
        self._state = TokenState(initial, on_tokens, static=static)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._lock = threading.Lock()

    @property
    def tokens(self) -> Tokens | None:
        return self._state.tokens

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ sending

    def call(self, call: Call[T]) -> T:
        """Send ``call`` (retrying and refreshing as needed) and parse its response."""
        response = self._send(call)
        return call.parse(response)

    def _send(
        self, call: Call[Any], *, stream: bool = False, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        if call.auth and self._state.refresh_due():
            self._refresh(self._state.access_token)
        attempt, refreshed = 0, False
        while True:
            token = self._state.access_token
            try:
                response = self._attempt(call, token, stream, timeout)
            except httpx.TransportError as exc:
                delay = self.retry.after_error(call, exc, attempt)
                if delay is None:
                    raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.is_success:
                    return response
                if self._should_refresh(call, response, refreshed):
                    refreshed = self._refresh(token)
                    continue
                delay = self.retry.after_status(call, response, attempt)
                if delay is None:
                    raise error_for(response)
            attempt += 1
            time.sleep(delay)

    def _should_refresh(self, call: Call[Any], response: httpx.Response, refreshed: bool) -> bool:
        return (
            response.status_code == 401
            and call.auth
            and not refreshed
            and (self._state.can_refresh())
        )

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
