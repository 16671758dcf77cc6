"""Job lifecycle events: ``queued``, ``started``, ``progress``, ``completed``, ``failed``,
``cancelled``; people events: ``person_created``, ``person_renamed``, ``person_merged``,
``person_deleted`` (``{"schema", "event", "person_id", "timestamp"}`` plus ``name`` /
``merged_ids``; on MQTT under ``medianest/inference/people/{person_id}`` and the common topic).

Each event is ``{"schema": 1, "event", "job_id", "media_store_id", "task_type", "status",
"timestamp"}`` (plus ``error_message``/``attempts`` where useful); results are fetched from the
job, never carried in events.

Delivery guarantee: AT MOST ONCE. Services stage events on the SQLAlchemy session
(:func:`stage`); they are published only after that transaction commits (a rolled-back change
never emits an event), to the in-process :class:`~medianest.common.events.Broadcaster` (SSE at
``GET /events``) and, when ``MEDIANEST_MQTT_URL`` is set, to MQTT topics
``medianest/inference/jobs/{job_id}`` and ``medianest/inference/events`` with QoS 1. A crash between
commit and publish, a slow SSE client or a broker outage loses events; the jobs table is the
source of truth (poll ``GET /job/{id}`` to reconcile). Publishing never fails or slows a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from medianest.common.events import (
    AfterCommit,
    Broadcaster,
    Event,
    MqttPublisher,
    stage_after_commit,
)
from medianest.inference.repository.queue import now_ms

log = logging.getLogger("medianest.inference.events")

SCHEMA_VERSION = 1
TOPIC_ALL = "medianest/inference/events"
_KEY = "medianest_job_events"


def job_event(name: str, job: Any, **extra: Any) -> Event:
    """Build an event from a Job row or anything with the same attributes."""
    return {
        "schema": SCHEMA_VERSION,
        "event": name,
        "job_id": getattr(job, "id", None) or getattr(job, "job_id", None),
        "media_store_id": job.media_store_id,
        "task_type": job.task_type,
        "status": getattr(job, "status", None),
        "timestamp": now_ms(),
        **extra,
    }


PERSON_EVENTS = ("person_created", "person_renamed", "person_merged", "person_deleted")
TOPIC_PEOPLE = "medianest/inference/people"


def person_event(event_name: str, person_id: int, **extra: Any) -> Event:
    """``person_created`` / ``renamed`` / ``merged`` / ``deleted``: ids only, read the person."""
    return {
        "schema": SCHEMA_VERSION,
        "event": event_name,
        "person_id": person_id,
        "timestamp": now_ms(),
        **extra,
    }


def stage(session: Session, event: Event) -> None:
    """Queue ``event`` for publication once this session's transaction commits."""
    stage_after_commit(session, _KEY, event)


def topic_for(job_id: str) -> str:
    return f"medianest/inference/jobs/{job_id}"


class JobSignal:
    """Wakes long-polling claims when jobs become ready (safe to call from any thread)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def notify(self) -> None:
        if self._loop is not None and self._event is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> None:
        """Wait until notified or ``timeout`` passes (new waiters see only later notifications)."""
        if self._event is None or timeout <= 0:
            return
        event = self._event
        if event.is_set():
            self._event = asyncio.Event()
            event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        if event.is_set() and self._event is event:
            self._event = asyncio.Event()


class JobEvents:
    """Publishes staged events after commit to SSE subscribers and MQTT."""

    def __init__(
        self, broadcaster: Broadcaster, mqtt: MqttPublisher | None, signal: JobSignal
    ) -> None:
        self.broadcaster = broadcaster
        self.mqtt = mqtt
        self.signal = signal
        self.observers: list[Callable[[Event], None]] = []  # e.g. metrics, after commit
        self._hook = AfterCommit(_KEY, self.publish)

    def install(self, sessions: sessionmaker[Session]) -> None:
        self._hook.install(sessions)

    def uninstall(self, sessions: sessionmaker[Session]) -> None:
        self._hook.uninstall(sessions)

    def publish(self, event: Event) -> None:
        try:
            if event["event"] == "queued":
                self.signal.notify()
            self.broadcaster.publish(event)
            for observe in self.observers:
                observe(event)
            if self.mqtt is not None:
                if "person_id" in event:
                    self.mqtt.publish(f"{TOPIC_PEOPLE}/{event['person_id']}", event)
                else:
                    self.mqtt.publish(topic_for(str(event["job_id"])), event)
                self.mqtt.publish(TOPIC_ALL, event)
        except Exception as exc:  # events are best effort: never fail the committed request
            log.warning("job event not published", extra={"error": repr(exc)})
