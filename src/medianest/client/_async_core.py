"""Sending calls asynchronously: the same rules as the sync core, on ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
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
    tokens_from,
)
from medianest.client._endpoints import auth as ep_auth
from medianest.client.config import Tokens
from medianest.client.errors import ConnectionFailed, error_for

T = TypeVar("T")


class AsyncCore(CoreState):
    """The sending half of :class:`~medianest.client.AsyncMediaNestClient`."""

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
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        token = token or api_key  # a key is sent as a bearer; every service accepts it
        super().__init__(
            auth_url, store_url, inference_url, token, tokens, on_tokens, timeout, retry
        )
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, auth=auth)
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------ sending

    async def call(self, call: Call[T]) -> T:
        """Send ``call`` (retrying and refreshing as needed) and parse its response."""
        response = await self._send(call)
        return call.parse(response)

    async def _send(
        self, call: Call[Any], *, stream: bool = False, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        if call.auth and self._state.refresh_due():
            await self._refresh(self._state.access_token)
        attempt, refreshed, started = 0, False, time.monotonic()
        while True:
            token = self._state.access_token
            try:
                response = await self._attempt(call, token, stream, timeout)
            except httpx.TransportError as exc:
                delay = self.retry.after_error(call, exc, attempt, time.monotonic() - started)
                if delay is None:
                    raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.is_success:
                    return response
                if self._should_refresh(call, response, refreshed):
                    refreshed = await self._refresh(token)
                    continue
                delay = self.retry.after_status(call, response, attempt, time.monotonic() - started)
                if delay is None:
                    raise error_for(response)
            attempt += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self, call: Call[Any], token: str | None, stream: bool, timeout: httpx.Timeout | None
    ) -> httpx.Response:
        kwargs = request_kwargs(call, self.urls, token)
        if timeout is not None:
            kwargs["timeout"] = timeout
        with (call.files or no_files)() as files:
            request = self._http.build_request(files=files or None, **kwargs)
            response = await self._http.send(request, stream=stream)
        if stream and not response.is_success:
            await response.aread()
            await response.aclose()
        return response

    async def _refresh(self, stale: str | None) -> bool:
        async with self._lock:
            current = self._state.tokens
            if current is None or current.access_token != stale:
                return True
            if not current.refresh_token:
                return False
            body = await self.call(ep_auth.refresh(current.refresh_token))
            self._state.set(tokens_from(body.model_dump(), current))
            return True

    # ------------------------------------------------------------ streaming

    async def _download(self, call: Call[Any], dest: Path | str, fallback_name: str) -> Path:
        response = await self._send(call, stream=True)
        try:
            target = _downloads.target_path(dest, response, fallback_name)
            with _downloads.atomic_writer(target) as fh:
                async for chunk in response.aiter_bytes(_downloads.CHUNK):
                    fh.write(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download interrupted: {exc}") from exc
        finally:
            await response.aclose()
        return target

    async def _sse(self, call: Call[Any]) -> AsyncIterator[dict[str, Any]]:
        timeout = httpx.Timeout(self.timeout, read=None)
        response = await self._send(call, stream=True, timeout=timeout)
        parser = SseParser()
        try:
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"event stream closed: {exc}") from exc
        finally:
            await response.aclose()
        last = parser.flush()
        if last is not None:
            yield last

    # ------------------------------------------------------------ session

    async def login(self, username: str, password: str) -> Tokens:
        body = await self.call(ep_auth.token(username, password))
        self._state.static = False
        self._state.set(tokens_from(body.model_dump()))
        assert self._state.tokens is not None
        return self._state.tokens

    async def logout(self) -> None:
        tokens = self._state.tokens
        try:
            if tokens and tokens.refresh_token:
                await self.call(ep_auth.logout(tokens.refresh_token, tokens.access_token))
        finally:
            self._state.set(None)
