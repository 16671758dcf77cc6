"""HTTP client of the media store (see docs/SERVICE_CONTRACT.md), used by the API and workers.

Built on the SDK's request core (retries, typed errors, streaming); answers are parsed into the
wire models of :mod:`medianest.contracts.store`. Synchronous (the API calls it from plain ``def``
routes in the thread pool, workers from their threads); :func:`watch_store_events` is the async
SSE reader the change-feed follower uses.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx

from medianest.client._async_core import AsyncCore
from medianest.client._base import Call, RetryPolicy, parse_bytes, parse_model, parse_none
from medianest.client._sync_core import SyncCore
from medianest.client.errors import ConnectionFailed, MediaNestError, NotFound, ServerError
from medianest.contracts.store import ChangesPage, EntityRead
from medianest.inference.tasks.base import BadInputError

log = logging.getLogger("medianest.inference.store_client")
T = TypeVar("T")


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
        auth: httpx.Auth | None = None,
        timeout: float = 10.0,
        outage_wait_s: float = 0.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.outage_wait_s = outage_wait_s
        self._core = SyncCore(
            store_url=self.base_url,
            timeout=timeout,
            auth=auth,
            retry=RetryPolicy.outage(outage_wait_s),
        )

    def close(self) -> None:
        self._core.close()

    def _get(self, path: str, parse: Callable[[httpx.Response], T], **params: Any) -> T:
        """GET through the SDK core (the token comes from ``auth``); outages → StoreUnavailable."""
        call = Call("GET", "store", path, parse, params=params or None, auth=False)
        try:
            return self._core.call(call)
        except (ConnectionFailed, ServerError) as exc:
            raise StoreUnavailable(f"media store unavailable: {exc}") from exc
        except NotFound:
            raise
        except MediaNestError as exc:
            if exc.status_code in (401, 403):
                raise StoreUnavailable(
                    f"media store refused our token ({exc.status_code})"
                ) from exc
            raise StoreUnavailable(f"media store answered {exc.status_code} for {path}") from exc

    def entity(self, media_store_id: int) -> EntityRead | None:
        """The entity, or None when the store says 404."""
        try:
            return self._get(f"/entity/{media_store_id}", parse_model(EntityRead))
        except NotFound:
            return None

    def preview(self, media_store_id: int) -> bytes:
        return self._bytes(f"/entity/{media_store_id}/preview", media_store_id)

    def file(self, media_store_id: int) -> bytes:
        return self._bytes(f"/entity/{media_store_id}/file", media_store_id)

    def _bytes(self, path: str, media_store_id: int) -> bytes:
        try:
            return self._get(path, parse_bytes)
        except NotFound as exc:
            raise MediaNotFound(f"media {media_store_id} not found in the store ({path})") from exc

    def changes(self, since: int, limit: int) -> ChangesPage:
        try:
            return self._get("/changes", parse_model(ChangesPage), since=since, limit=limit)
        except NotFound as exc:
            raise StoreUnavailable("media store has no change feed") from exc

    def ping(self) -> bool:
        try:
            self._get("/", parse_none)
        except NotFound:
            return True  # it answered
        except StoreUnavailable:
            return False
        return True


async def watch_store_events(
    base_url: str, headers: dict[str, str], timeout: float = 10.0
) -> AsyncIterator[dict[str, Any]]:
    """Yield each SSE event of ``GET {store}/events`` (through the SDK's async core)."""
    core = AsyncCore(store_url=base_url.rstrip("/"), timeout=timeout, retry=RetryPolicy(1))
    call = Call("GET", "store", "/events", parse_none, auth=False, headers=headers)
    try:
        async for event in core._sse(call):
            yield event
    except MediaNestError as exc:
        raise StoreUnavailable(f"store events answered {exc.status_code}") from exc
    finally:
        await core.aclose()
