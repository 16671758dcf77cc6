"""HTTP client of the media store (see docs/SERVICE_CONTRACT.md), used by the API and workers.

Synchronous (the API calls it from plain ``def`` routes in the thread pool, workers from their
threads); :func:`watch_store_events` is the async SSE reader the change-feed follower uses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from medianest.inference.auth_client import AuthError, TokenSource
from medianest.inference.tasks.base import BadInputError

log = logging.getLogger("medianest.inference.store_client")
_OUTAGE_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class StoreUnavailable(Exception):
    """The store could not be reached or answered 5xx: retry later."""


class MediaNotFound(BadInputError):
    """The store says the media does not exist (a job on it can never succeed)."""


class StoreClient:
    """``outage_wait_s``: how long a call keeps retrying while the store (or the auth service
    that gives us tokens) is unreachable or answers 5xx. The API asks with 0 (its callers get a
    503 at once); workers wait, so a store restart does not use up the attempts of their jobs.
    """

    def __init__(
        self,
        base_url: str,
        auth: TokenSource | None = None,
        timeout: float = 10.0,
        outage_wait_s: float = 0.0,
    ):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, auth=auth, timeout=timeout)
        self.outage_wait_s = outage_wait_s

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, **params: Any) -> httpx.Response:
        deadline = time.monotonic() + self.outage_wait_s
        for attempt in range(1_000_000):
            try:
                return self._get_once(path, params)
            except StoreUnavailable as exc:
                delay = _OUTAGE_DELAYS[min(attempt, len(_OUTAGE_DELAYS) - 1)]
                if time.monotonic() + delay > deadline:
                    raise
                if attempt == 0:
                    log.warning("media store unavailable; waiting", extra={"error": str(exc)})
                time.sleep(delay)
        raise StoreUnavailable(path)  # pragma: no cover - the loop returns or raises

    def _get_once(self, path: str, params: dict[str, Any]) -> httpx.Response:
        try:
            resp = self._client.get(path, params=params or None)
        except (httpx.HTTPError, AuthError) as exc:
            raise StoreUnavailable(f"media store unreachable: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500:
            raise StoreUnavailable(f"media store answered {resp.status_code}")
        return resp

    def entity(self, media_store_id: int) -> dict[str, Any] | None:
        """The entity, or None when the store says 404."""
        resp = self._get(f"/entity/{media_store_id}")
        if resp.status_code == 404:
            return None
        _raise_for_client_error(resp)
        data: dict[str, Any] = resp.json()
        return data

    def preview(self, media_store_id: int) -> bytes:
        return self._bytes(f"/entity/{media_store_id}/preview", media_store_id)

    def file(self, media_store_id: int) -> bytes:
        return self._bytes(f"/entity/{media_store_id}/file", media_store_id)

    def _bytes(self, path: str, media_store_id: int) -> bytes:
        resp = self._get(path)
        if resp.status_code in (404, 410):
            raise MediaNotFound(f"media {media_store_id} not found in the store ({path})")
        _raise_for_client_error(resp)
        return resp.content

    def changes(self, since: int, limit: int) -> dict[str, Any]:
        resp = self._get("/changes", since=since, limit=limit)
        _raise_for_client_error(resp)
        data: dict[str, Any] = resp.json()
        return data

    def ping(self) -> bool:
        try:
            return self._get("/").status_code < 500
        except StoreUnavailable:
            return False


def _raise_for_client_error(resp: httpx.Response) -> None:
    if resp.status_code in (401, 403):
        raise StoreUnavailable(f"media store refused our token ({resp.status_code})")
    if resp.status_code >= 400:
        raise StoreUnavailable(f"media store answered {resp.status_code} for {resp.url.path}")


async def watch_store_events(
    base_url: str, headers: dict[str, str], timeout: float = 10.0
) -> AsyncIterator[str]:
    """Yield the data line of each SSE event from ``GET {store}/events``."""
    timeouts = httpx.Timeout(timeout, read=None)
    async with (
        httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeouts) as client,
        client.stream("GET", "/events", headers=headers) as resp,
    ):
        if resp.status_code != 200:
            raise StoreUnavailable(f"store events answered {resp.status_code}")
        async for line in resp.aiter_lines():
            if line.startswith("data:"):
                yield line[5:].strip()
