"""Follows the media store's change feed and turns it into jobs (exactly-once effect).

Each page of ``GET {store}/changes?since=cursor`` is applied in ONE transaction together with the
new cursor, so a crash either applies a page and its cursor or neither; re-reading a page after a
crash is harmless because the cursor only moves with its effects. The follower polls every
``INFERENCE_FOLLOWER_POLL_S`` seconds, is woken early by the store's SSE ``GET /events`` (and by
MQTT ``medianest/media_store/changes`` when ``MEDIANEST_MQTT_URL`` is set), and backs off
exponentially while the store is unreachable, resuming from its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlparse

from medianest.common.db import Database
from medianest.contracts.store import ChangeRecord
from medianest.inference.auth_client import TokenSource
from medianest.inference.db import transaction
from medianest.inference.repository import jobs as repository
from medianest.inference.service.pipeline import FEED, apply_changes
from medianest.inference.service.runtime import Runtime
from medianest.inference.store_client import StoreClient, watch_store_events

log = logging.getLogger("medianest.inference.follower")
STORE_TOPIC = "medianest/media_store/changes"


class FollowerStatus:
    """What the follower last saw, for metrics: its cursor, when it last read the feed, how far
    behind it was (0 when a read found nothing more to apply)."""

    def __init__(self) -> None:
        self.cursor: int | None = None
        self.last_sync_at: float | None = None
        self.lag_s: float = 0.0

    def record(self, cursor: int, newest_ts_ms: int | None, more: bool) -> None:
        now = time.time()
        self.cursor, self.last_sync_at = cursor, now
        self.lag_s = max(0.0, now - newest_ts_ms / 1000) if more and newest_ts_ms else 0.0


class ChangeFollower:
    def __init__(
        self, db: Database, rt: Runtime, store: StoreClient, auth: TokenSource | None
    ) -> None:
        self.db = db
        self.rt = rt
        self.store = store
        self.auth = auth
        self.wake = asyncio.Event()
        self._mqtt: Any = None
        self.status = FollowerStatus()

    async def run(self) -> None:
        """Run until cancelled: the poll loop plus the optional wake-up sources."""
        loop = asyncio.get_running_loop()
        watchers = []
        if self.rt.settings.follower_sse:
            watchers.append(asyncio.create_task(self._watch_sse()))
        if self.rt.settings.mqtt_url:
            self._mqtt = _subscribe_mqtt(self.rt.settings.mqtt_url, loop, self.wake)
        try:
            await self._poll_loop()
        finally:
            for task in watchers:
                task.cancel()
            if self._mqtt is not None:
                with contextlib.suppress(Exception):
                    self._mqtt.loop_stop()
                    self._mqtt.disconnect()

    async def _poll_loop(self) -> None:
        settings = self.rt.settings
        backoff = 1.0
        while True:
            self.wake.clear()
            try:
                more = await asyncio.to_thread(self.sync_once)
                backoff = 1.0
                if more:
                    continue
                delay = settings.follower_poll_s
            except Exception as exc:
                log.warning(
                    "change feed unavailable", extra={"error": repr(exc), "retry_s": backoff}
                )
                delay, backoff = backoff, min(backoff * 2, settings.follower_max_backoff_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)

    def sync_once(self) -> bool:
        """Apply one page of changes; True when a full page was read (more may be waiting)."""
        with transaction(self.db) as session:
            cursor = repository.get_cursor(session, FEED)
        limit = self.rt.settings.follower_batch
        page = self.store.changes(cursor, limit)  # HTTP outside any transaction
        items = page.items
        if not items:
            self.status.record(cursor, None, more=False)
            return False
        next_cursor = page.next_cursor or max(i.cursor for i in items)
        with transaction(self.db) as session:
            if repository.get_cursor(session, FEED, lock=True) != cursor:
                return True  # another API process applied this page meanwhile: re-read
            queued = apply_changes(session, self.rt, items, next_cursor)
        log.info("change feed applied", extra={"records": len(items), "queued": queued})
        more = len(items) >= limit
        self.status.record(next_cursor, _newest_ts(items), more)
        return more

    async def _watch_sse(self) -> None:
        delay = 1.0
        while True:
            try:
                headers = await asyncio.to_thread(self._headers)
                async for _ in watch_store_events(self.store.base_url, headers):
                    self.wake.set()
                    delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("store events unavailable", extra={"error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.rt.settings.follower_max_backoff_s)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.auth is not None and self.auth.configured:
            headers.update(self.auth.headers())
        return headers


def _newest_ts(items: list[ChangeRecord]) -> int | None:
    stamps = [i.at for i in items]
    return max(stamps) if stamps else None


def _subscribe_mqtt(url: str, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parsed = urlparse(url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"medianest-inference-follower-{uuid.uuid4().hex[:8]}",
    )
    if parsed.username:
        client.username_pw_set(parsed.username, parsed.password)

    def on_connect(c: Any, _u: Any, _f: Any, _rc: Any, _p: Any = None) -> None:
        c.subscribe(STORE_TOPIC, qos=1)

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake.set)

    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(1, 30)
    client.connect_async(parsed.hostname or "127.0.0.1", parsed.port or 1883, 30)
    client.loop_start()
    return client
