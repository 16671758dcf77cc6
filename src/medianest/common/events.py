"""Event delivery: in-process Server-Sent Events fan-out and an MQTT publisher.

Both are best effort by design: a slow SSE client or a broker that is down never fails or slows a
request. The durable records are the store's change feed and the job table; events only wake
followers up early and keep UIs live (see README, "Delivery guarantees").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("medianest.events")

Event = dict[str, Any]


def stage_after_commit(session: Session, key: str, item: Any) -> None:
    """Queue ``item`` under ``key`` on ``session``; an :class:`AfterCommit` hook publishes it."""
    session.info.setdefault(key, []).append(item)


class AfterCommit:
    """Hands what a transaction staged under ``key`` to ``publish`` once it has committed.

    Nothing is published before the commit, nor after a rollback (the staged items are dropped,
    together with the session-info keys in ``clear``). Publishing is best effort: an exception is
    logged and never reaches the committed request. The one after-commit mechanism of every
    service (the store's change feed, the inference job events).
    """

    def __init__(self, key: str, publish: Callable[[Any], None], clear: tuple[str, ...] = ()):
        self.key, self.publish, self.clear = key, publish, clear

    def install(self, sessions: sessionmaker[Session]) -> None:
        sa_event.listen(sessions, "after_commit", self._after_commit)
        sa_event.listen(sessions, "after_rollback", self._after_rollback)

    def uninstall(self, sessions: sessionmaker[Session]) -> None:
        sa_event.remove(sessions, "after_commit", self._after_commit)
        sa_event.remove(sessions, "after_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        items = self._drop(session)
        for item in items:
            try:
                self.publish(item)
            except Exception:  # events are best effort; the database is the durable record
                log.exception("publishing after commit failed", extra={"key": self.key})

    def _after_rollback(self, session: Session) -> None:
        self._drop(session)

    def _drop(self, session: Session) -> list[Any]:
        for key in self.clear:
            session.info.pop(key, None)
        items: list[Any] = session.info.pop(self.key, [])
        return items


class Broadcaster:
    """Fan events out to SSE subscribers; ``publish`` is safe from any thread."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event | None]]] = (
            set()
        )
        self._lock = threading.Lock()
        self._queue_size = queue_size
        self.closed = asyncio.Event()

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(self._offer, queue, event)

    @staticmethod
    def _offer(queue: asyncio.Queue[Event | None], event: Event | None) -> None:
        if queue.full():  # a slow client loses its oldest events, never blocks the publisher
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self._queue_size)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                self._subscribers.discard(entry)

    def close(self) -> None:
        """End every open stream (so uvicorn can shut down)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._offer, queue, None)


async def sse_stream(
    broadcaster: Broadcaster,
    is_disconnected: Callable[[], Any],
    accept: Callable[[Event], bool] = lambda _e: True,
    event_name: Callable[[Event], str] | None = None,
    keepalive_s: float = 15.0,
) -> AsyncIterator[str]:
    """Yield SSE frames for events passing ``accept`` until the client leaves or we shut down."""
    async with broadcaster.subscribe() as queue:
        yield ": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), keepalive_s)
            except TimeoutError:
                if await is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            if event is None:
                return
            if accept(event):
                name = f"event: {event_name(event)}\n" if event_name else ""
                yield f"{name}data: {json.dumps(event, default=str)}\n\n"


class MqttPublisher:
    """Publish JSON events with QoS 1 from a background network thread.

    ``publish`` never blocks and never raises: while the broker is down paho keeps a bounded
    in-memory queue and reconnects by itself; messages beyond that queue are dropped and logged.
    """

    def __init__(self, url: str, client_id: str, max_queued: int = 10000) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        parsed = urlparse(url)
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
        )
        if parsed.username:
            self._client.username_pw_set(parsed.username, parsed.password)
        if parsed.scheme in ("mqtts", "ssl"):
            self._client.tls_set()
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(parsed.hostname or "127.0.0.1", parsed.port or 1883, 30)
        self._client.loop_start()

    def publish(self, topic: str, event: Event) -> None:
        try:
            info = self._client.publish(topic, json.dumps(event, default=str), qos=1)
            if info.rc not in (0, 4):  # 4 = not connected: queued for the reconnect
                log.warning("mqtt publish dropped", extra={"topic": topic, "rc": info.rc})
        except Exception as exc:  # never let the broker fail a request
            log.warning("mqtt publish failed", extra={"topic": topic, "error": repr(exc)})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.loop_stop()
            self._client.disconnect()


def create_mqtt_publisher(url: str | None, client_id: str) -> MqttPublisher | None:
    if not url:
        return None
    return MqttPublisher(url, client_id)
