"""Job events: SSE at GET /events, MQTT with a real Mosquitto subscriber, after-commit only."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from medianest.common.db import Database
from medianest.common.events import Broadcaster
from medianest.inference import events
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from tests.inference.standin import Media, StandinStore, jpeg_bytes, serve

pytestmark = [pytest.mark.inference, pytest.mark.broadcaster]

MQTT_URL = os.environ.get("MEDIANEST_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
H = dict[str, str]
EVENT_KEYS = {"schema", "event", "job_id", "media_store_id", "task_type", "status", "timestamp"}


def run_lifecycle(http: Any, user: H, worker: H, media_id: int) -> str:
    job = http.post("/job/image_info", json={"media_store_id": media_id}, headers=user).json()
    http.post("/worker/claim", json={"worker_id": "w1"}, headers=worker)
    http.post(f"/worker/jobs/{job['job_id']}/heartbeat", json={"worker_id": "w1", "progress": 50},
              headers=worker)  # fmt: skip
    result = {"width": 1, "height": 1, "mode": "RGB", "mean_color": [0, 0, 0]}
    http.post(f"/worker/jobs/{job['job_id']}/complete", json={"worker_id": "w1", "result": result},
              headers=worker)  # fmt: skip
    return str(job["job_id"])


@pytest.mark.integration
def test_sse_streams_lifecycle_events_filtered_by_media(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H, worker_headers: H
) -> None:
    store.media[1] = Media(jpeg_bytes())
    store.media[2] = Media(jpeg_bytes())
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    with serve(create_app(make_settings())) as url:
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream("GET", f"{url}/events?media_store_id=1", headers=user_headers,
                              timeout=30) as resp:  # fmt: skip
                name = ""
                for line in resp.iter_lines():
                    ready.set()
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        event = json.loads(line[5:])
                        assert event["event"] == name
                        received.put(event)
                        if event["event"] == "completed":
                            return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert ready.wait(10)
        with httpx.Client(base_url=url, timeout=30) as http:
            run_lifecycle(http, user_headers, worker_headers, 2)
            job_id = run_lifecycle(http, user_headers, worker_headers, 1)
        thread.join(timeout=10)
    got = [received.get_nowait() for _ in range(received.qsize())]
    assert [e["event"] for e in got] == ["queued", "started", "progress", "completed"]
    assert all(set(e) >= EVENT_KEYS and e["schema"] == 1 for e in got)
    assert {e["job_id"] for e in got} == {job_id}
    assert got[-1]["status"] == "completed"
    assert "result" not in got[-1]


def test_events_endpoint_requires_inference_permission(
    client: TestClient, worker_headers: H
) -> None:
    assert client.get("/events").status_code == 401
    assert client.get("/events", headers=worker_headers).status_code == 403


def test_events_are_published_only_after_commit(db_factory: Any) -> None:
    from medianest.inference.db import MIGRATIONS_DIR

    db = Database(db_factory.url(MIGRATIONS_DIR))
    published: list[dict[str, Any]] = []
    broadcaster = Broadcaster()
    broadcaster.publish = published.append  # type: ignore[method-assign,assignment]
    job_events = events.JobEvents(broadcaster, None, events.JobSignal())
    job_events.install(db.sessions)
    try:
        with db.sessions() as session:
            events.stage(session, {"event": "queued", "job_id": "a"})
            session.execute(text("SELECT 1"))
            session.rollback()
            assert published == []
            events.stage(session, {"event": "queued", "job_id": "b"})
            session.execute(text("SELECT 1"))
            session.commit()
        assert [e["job_id"] for e in published] == ["b"]
    finally:
        job_events.uninstall(db.sessions)
        db.dispose()


@pytest.mark.integration
def test_mqtt_subscriber_receives_job_events_on_both_topics(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H, worker_headers: H
) -> None:
    from urllib.parse import urlparse

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parsed = urlparse(MQTT_URL)
    messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                      client_id=f"test-sub-{uuid.uuid4().hex[:8]}")  # fmt: skip
    sub.on_connect = lambda c, *_: c.subscribe(
        [("medianest/inference/events", 1), ("medianest/inference/jobs/+", 1)]
    )
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda _c, _u, m: messages.put((m.topic, json.loads(m.payload)))
    try:
        sub.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    except OSError:
        pytest.skip("no MQTT broker at " + MQTT_URL)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        store.media[1] = Media(jpeg_bytes())
        with TestClient(create_app(make_settings(mqtt_url=MQTT_URL))) as client:
            job_id = run_lifecycle(client, user_headers, worker_headers, 1)
            seen = _collect(messages, job_id, until=8)
    finally:
        sub.loop_stop()
        sub.disconnect()
    per_job = [e["event"] for topic, e in seen if topic == f"medianest/inference/jobs/{job_id}"]
    on_all = [e["event"] for topic, e in seen if topic == "medianest/inference/events"]
    assert per_job == ["queued", "started", "progress", "completed"]
    assert on_all == per_job
    assert all(set(e) >= EVENT_KEYS for _, e in seen)


def _collect(messages: queue.Queue[tuple[str, dict[str, Any]]], job_id: str, until: int
             ) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    seen: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + 15
    while len(seen) < until and time.monotonic() < deadline:
        try:
            topic, event = messages.get(timeout=0.5)
        except queue.Empty:
            continue
        if event.get("job_id") == job_id:
            seen.append((topic, event))
    return seen


def test_broker_down_never_fails_or_slows_requests(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    from tests.inference.standin import free_port

    store.media[1] = Media(jpeg_bytes())
    settings = make_settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        resp = client.post("/job/image_info", json={"media_store_id": 1}, headers=user_headers)
        assert resp.status_code == 201
        assert time.monotonic() - started < 10  # no connect wait or retry loop in the request
