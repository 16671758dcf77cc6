"""The change-feed follower against the stand-in store's /changes and /events (real HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medianest.common.db import Database
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from medianest.inference.db import transaction
from medianest.inference.follower import STORE_TOPIC
from medianest.inference.repository import jobs as repository
from medianest.inference.service.pipeline import FEED
from medianest.inference.tasks import JsonResultSink, SinkContext, TaskType, register_task
from medianest.inference.tasks.testing import noop
from tests.inference.standin import Media, StandinStore, jpeg_bytes
from tests.polling import wait_until

pytestmark = [pytest.mark.inference, pytest.mark.integration]

H = dict[str, str]


class SpySink(JsonResultSink):
    deleted: list[int] = []

    def delete(self, ctx: SinkContext, media_store_id: int) -> None:
        assert ctx.session is not None
        self.deleted.append(media_store_id)


register_task(TaskType("spy_task", noop, sink=SpySink(), test_only=True), replace=True)


def jobs(client: TestClient, headers: H, **filters: Any) -> list[Any]:
    items: list[Any] = client.get("/job/?page_size=100", params=filters, headers=headers).json()[
        "items"
    ]
    return items


def follower_settings(make_settings: Callable[..., Settings], **kw: Any) -> Settings:
    values = {"follower_enabled": True, "follower_poll_s": 0.1, "follower_sse": False, **kw}
    return make_settings(**values)


def finish_all(client: TestClient, worker: H) -> None:
    claimed = client.post("/worker/claim", json={"worker_id": "w", "max_jobs": 100},
                          headers=worker).json()["jobs"]  # fmt: skip
    for job in claimed:
        client.post(f"/worker/jobs/{job['job_id']}/complete",
                    json={"worker_id": "w", "result": {"ok": True}}, headers=worker)  # fmt: skip


def test_new_media_queues_default_pipeline(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    store.put(1, Media(jpeg_bytes()))
    store.put(2, Media(b"", type="image", is_collection=True))
    store.put(3, Media(b"doc", type="other"))
    store.put(4, Media(b"vid", type="video"))
    with TestClient(create_app(follower_settings(make_settings))) as client:
        wait_until(lambda: len(jobs(client, user_headers)) == 4)
        time.sleep(0.3)
        got = {(j["media_store_id"], j["task_type"]) for j in jobs(client, user_headers)}
    assert got == {(1, "face_embedding"), (1, "image_embedding"),
                   (4, "face_embedding"), (4, "image_embedding")}  # fmt: skip


def test_update_queues_again_only_when_content_changed(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H, worker_headers: H
) -> None:
    settings = follower_settings(make_settings, pipeline_tasks="image_info")
    store.put(1, Media(jpeg_bytes(color=(1, 2, 3))))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: len(jobs(client, user_headers)) == 1)
        finish_all(client, worker_headers)
        store.touch(1)  # metadata-only: same md5
        wait_until(lambda: _cursor(settings) == 2)
        assert len(jobs(client, user_headers)) == 1
        store.put(1, Media(jpeg_bytes(color=(9, 9, 9))))  # new content
        wait_until(lambda: len(jobs(client, user_headers, status="pending")) == 1)


def test_deleted_media_removes_jobs_and_calls_sink_delete_hooks(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H, worker_headers: H
) -> None:
    SpySink.deleted.clear()
    settings = follower_settings(make_settings, pipeline_tasks="image_info,spy_task")
    store.put(1, Media(jpeg_bytes()))
    store.put(2, Media(jpeg_bytes(color=(0, 0, 9))))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: len(jobs(client, user_headers)) == 4)
        finish_all(client, worker_headers)
        store.delete(1)
        wait_until(lambda: len(jobs(client, user_headers)) == 2)
        assert {j["media_store_id"] for j in jobs(client, user_headers)} == {2}
    assert SpySink.deleted == [1]


def test_cursor_survives_restart_and_store_outage(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    settings = follower_settings(make_settings, pipeline_tasks="image_info")
    store.put(1, Media(jpeg_bytes()))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: len(jobs(client, user_headers)) == 1)
    assert _cursor(settings) == 1
    store.down = True
    store.put(2, Media(jpeg_bytes(color=(5, 5, 5))))
    with TestClient(create_app(settings)) as client:
        time.sleep(0.5)
        assert len(jobs(client, user_headers)) == 1
        store.down = False
        wait_until(lambda: len(jobs(client, user_headers)) == 2, timeout=15)
        assert {j["media_store_id"] for j in jobs(client, user_headers)} == {1, 2}
    assert _cursor(settings) == 2


def test_auto_pipeline_off_queues_nothing_but_still_follows(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    settings = follower_settings(make_settings, auto_pipeline=False)
    store.put(1, Media(jpeg_bytes()))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: _cursor(settings) == 1)
        assert jobs(client, user_headers) == []


def test_store_sse_wakes_follower_before_next_poll(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    settings = follower_settings(make_settings, follower_poll_s=60, follower_sse=True,
                                 pipeline_tasks="image_info")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: "GET /events" in store.requests)
        time.sleep(0.2)
        store.put(1, Media(jpeg_bytes()))
        wait_until(lambda: len(jobs(client, user_headers)) == 1, timeout=5)


def _cursor(settings: Settings) -> int:
    db = Database(settings.db_url())
    try:
        with transaction(db) as session:
            return repository.get_cursor(session, FEED)
    finally:
        db.dispose()


@pytest.mark.broadcaster
def test_store_mqtt_event_wakes_follower_before_next_poll(
    make_settings: Callable[..., Settings], store: StandinStore, user_headers: H
) -> None:
    import json
    import os
    from urllib.parse import urlparse

    import paho.mqtt.publish as publish

    mqtt_url = os.environ.get("MEDIANEST_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    parsed = urlparse(mqtt_url)
    settings = follower_settings(make_settings, follower_poll_s=60, mqtt_url=mqtt_url,
                                 pipeline_tasks="image_info")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        time.sleep(1.0)  # the first (empty) poll has run and the subscription is up
        store.put(1, Media(jpeg_bytes()))
        record = json.dumps(store.changes[-1])
        try:
            host, port = parsed.hostname or "127.0.0.1", parsed.port or 1883
            publish.single(STORE_TOPIC, record, qos=1, hostname=host, port=port)
        except OSError:
            pytest.skip("no MQTT broker at " + mqtt_url)
        wait_until(lambda: len(jobs(client, user_headers)) == 1, timeout=5)
