"""Event delivery helpers against a real Mosquitto broker (127.0.0.1:1883) and in-process SSE."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import time
import uuid

import pytest

from medianest.common.events import Broadcaster, MqttPublisher, sse_stream

pytestmark = [pytest.mark.broadcaster]
MQTT_URL = os.environ.get("MEDIANEST_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        return True
    except OSError:
        return False


def _subscribe(topic: str) -> tuple[object, queue.Queue[dict[str, object]]]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    received: queue.Queue[dict[str, object]] = queue.Queue()
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, msg: received.put(json.loads(msg.payload))
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    time.sleep(0.3)
    return sub, received


@pytest.mark.integration
@pytest.mark.skipif(not _broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")
def test_mqtt_publisher_delivers_qos1_to_a_real_subscriber() -> None:
    topic = f"medianest/test/{uuid.uuid4().hex}"
    sub, received = _subscribe(topic)
    publisher = MqttPublisher(MQTT_URL, f"test-{uuid.uuid4().hex[:8]}")
    try:
        time.sleep(0.3)
        for i in range(20):
            publisher.publish(topic, {"n": i})
        got = [received.get(timeout=5)["n"] for _ in range(20)]
        assert got == list(range(20))
    finally:
        publisher.close()
        sub.loop_stop()  # type: ignore[attr-defined]


def test_mqtt_publisher_never_blocks_or_raises_when_broker_is_down() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    publisher = MqttPublisher(f"mqtt://127.0.0.1:{port}", "test-down")
    try:
        started = time.perf_counter()
        for i in range(500):
            publisher.publish("medianest/test/down", {"n": i})
        assert time.perf_counter() - started < 5  # generous: it must not wait on the network
    finally:
        publisher.close()


def test_broadcaster_streams_events_as_sse_frames_and_ends_on_close() -> None:
    async def scenario() -> list[str]:
        hub = Broadcaster()
        frames: list[str] = []

        async def disconnected() -> bool:
            return False

        async def consume() -> None:
            async for frame in sse_stream(hub, disconnected, event_name=lambda _e: "change"):
                frames.append(frame)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        await asyncio.to_thread(hub.publish, {"cursor": 1})
        await asyncio.sleep(0.05)
        hub.close()
        await asyncio.wait_for(task, 2)
        return frames

    frames = asyncio.run(scenario())
    assert frames[0].startswith(": connected")
    assert frames[1] == 'event: change\ndata: {"cursor": 1}\n\n'
