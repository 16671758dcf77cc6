"""The MQTT broker stopped and started again while events flow.

Acceptance: no request fails or slows noticeably; MQTT subscribers may miss events, but the change
feed and the job states are complete afterwards, and MQTT delivery resumes by itself (the
publishers reconnect without a restart of any service).

The broker is a private Mosquitto on its own port (``tests/faults/mosquitto.py``); the shared one on
1883 is never touched. Latencies are printed, never asserted (speed is measured in ``bench/``).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.common.events import MqttPublisher
from tests.faults.mosquitto import PrivateBroker, Subscriber, mosquitto_binary, private_broker
from tests.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.broadcaster]

CHANGES_TOPIC = "medianest/media_store/changes"
JOBS_TOPIC = "medianest/inference/events"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (/usr/sbin/mosquitto; apt-get install mosquitto)")
    with private_broker(tmp_path / "broker") as running:
        yield running


def test_publisher_queues_while_the_broker_is_down_and_reconnects_by_itself(
    broker: PrivateBroker,
) -> None:
    """Structural check of the request path: ``publish`` only queues (rc 0 or 4, no network I/O
    on the caller's thread) while the broker is stopped, and delivery resumes after a restart."""
    topic = f"medianest/test/{uuid.uuid4().hex}"
    sub = Subscriber(broker.port, [topic])
    publisher = MqttPublisher(broker.url, f"fault-test-{uuid.uuid4().hex[:8]}")
    try:
        sub.wait_connected()
        publisher.publish(topic, {"n": -1})
        wait_until(lambda: sub.drain(), "the first message", 15, broker.log)

        broker.stop()
        time.sleep(1.5)  # the publisher has seen the connection drop
        rcs: list[int] = []
        took: list[float] = []
        done = threading.Event()

        def publish_while_down() -> None:
            client = publisher._client
            for n in range(200):
                started = time.perf_counter()
                rcs.append(client.publish(topic, f'{{"n": {n}}}', qos=1).rc)
                took.append(time.perf_counter() - started)
            done.set()

        thread = threading.Thread(target=publish_while_down, daemon=True)
        thread.start()
        # a hang detector, not a speed assertion: publish must never wait for the network
        assert done.wait(60), "publish() blocked while the broker was down"
        assert set(rcs) <= {0, 4}, f"messages were refused instead of queued: {set(rcs)}"
        print(
            f"\npublish while the broker is down: median {statistics.median(took) * 1e6:.0f} us,"
            f" max {max(took) * 1e6:.0f} us over {len(took)} calls"
        )

        broker.start()
        sub.wait_connected(2, timeout=30)

        def delivered_again() -> bool:
            publisher.publish(topic, {"n": "after"})
            return any(body.get("n") == "after" for _t, body in sub.drain())

        wait_until(delivered_again, "delivery after the broker restart", 60, broker.log)
    finally:
        publisher.close()
        sub.close()


@pytest.mark.slow
@pytest.mark.inference
def test_broker_restart_while_uploading_loses_no_request_feed_entry_or_job(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    pytest.importorskip("medianest.media_store.app")
    from tests.inference import photos
    from tests.inference.cluster import running_system

    home = tmp_path / "home"
    home.mkdir()
    extra = {"MEDIANEST_MQTT_URL": broker.url}
    with running_system(home, workers=1, extra_env=extra) as system:
        store = system.urls["media_store"]
        sub = Subscriber(broker.port, [CHANGES_TOPIC, JOBS_TOPIC])
        http = httpx.Client(timeout=60)
        phase = ["warmup"]
        records: list[dict[str, Any]] = []  # one per upload: phase, seconds, status, id
        failures: list[str] = []
        stop = threading.Event()
        seed = [0]

        def upload_one() -> None:
            seed[0] += 1
            name = f"noise-{seed[0]}.jpg"
            data = photos.jpeg(photos.noise(seed[0], 320, 240))
            at = phase[0]
            started = time.perf_counter()
            try:
                resp = http.post(
                    f"{store}/entity/", headers=system.headers,
                    data={"is_collection": "false", "label": name},
                    files={"image": (name, data, "image/jpeg")},
                )  # fmt: skip
            except httpx.HTTPError as exc:
                failures.append(f"{name} ({at}): {exc!r}")
                return
            took = time.perf_counter() - started
            if resp.status_code != 201:
                failures.append(f"{name} ({at}): {resp.status_code} {resp.text[:200]}")
                return
            if phase[0] != at:
                at = "during"  # the broker changed state while this request ran
            records.append({"phase": at, "s": took, "id": resp.json()["id"]})

        def uploader() -> None:
            while not stop.is_set():
                upload_one()
                time.sleep(0.15)

        def uploaded(name: str) -> list[dict[str, Any]]:
            return [r for r in records if r["phase"] == name]

        def logs() -> str:
            names = ("media_store", "inference", "worker")
            parts = [f"--- {n}\n{system.log(n)}" for n in names]
            return "\n".join([*parts, f"--- broker\n{broker.log()}", f"failures: {failures}"])

        try:
            sub.wait_connected()
            # warm up: the publishers are connected once a change reaches the subscriber
            upload_one()
            wait_until(
                lambda: any(t == CHANGES_TOPIC for t, _b in sub.drain()),
                "the first change event over MQTT", 60, logs,
            )  # fmt: skip

            thread = threading.Thread(target=uploader, daemon=True)
            phase[0] = "before"
            thread.start()
            wait_until(lambda: len(uploaded("before")) >= 6, "uploads before", 60, logs)

            broker.stop()
            phase[0] = "during"
            stopped_at = time.monotonic()
            wait_until(
                lambda: len(uploaded("during")) >= 8 and time.monotonic() - stopped_at > 4,
                "uploads while the broker is down", 60, logs,
            )  # fmt: skip
            before_restart = sub.drain()

            broker.start()
            restarted_at = time.monotonic()
            phase[0] = "after"
            wait_until(lambda: len(uploaded("after")) >= 6, "uploads after", 60, logs)
            stop.set()
            thread.join(60)
            assert not thread.is_alive(), "the uploader hung"
            assert failures == [], f"requests failed: {failures}\n{logs()}"

            # MQTT delivery resumes by itself: changes and job events of post-restart uploads
            after_ids = {r["id"] for r in uploaded("after")}
            seen: dict[str, set[int]] = {CHANGES_TOPIC: set(), JOBS_TOPIC: set()}

            def delivered_again() -> bool:
                for topic, body in sub.drain():
                    key = "entity_id" if topic == CHANGES_TOPIC else "media_store_id"
                    seen[topic].add(int(body[key]))
                return bool(seen[CHANGES_TOPIC] & after_ids and seen[JOBS_TOPIC] & after_ids)

            wait_until(delivered_again, "MQTT events after the broker restart", 90, logs)
            resumed_s = time.monotonic() - restarted_at

            # the durable records are complete: every upload is in the feed ...
            all_ids = {r["id"] for r in records}
            created = _feed_created(http, store, system.headers)
            assert all_ids <= created, f"missing from the change feed: {all_ids - created}"

            # ... and every upload's jobs reach a final, successful state
            inference = httpx.Client(
                base_url=system.urls["inference"], headers=system.headers, timeout=30
            )
            pending = set(all_ids)

            def all_analysed() -> bool:
                for media_id in sorted(pending):
                    jobs = inference.get(f"/entity/{media_id}/analysis").json()["jobs"]
                    states = {j["task_type"]: j["status"] for j in jobs}
                    assert "error" not in states.values(), (media_id, jobs)
                    if states != {"face_embedding": "completed", "image_embedding": "completed"}:
                        return False
                    pending.discard(media_id)
                return True

            wait_until(all_analysed, f"jobs of {len(all_ids)} uploads to complete", 150, logs)
            inference.close()

            _print_figures(records, len(before_restart), resumed_s)
        finally:
            stop.set()
            sub.close()
            http.close()


def _feed_created(http: httpx.Client, store: str, headers: dict[str, str]) -> set[int]:
    created: set[int] = set()
    since = 0
    while True:
        page = http.get(f"{store}/changes", params={"since": since, "limit": 1000}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        if not body["items"]:
            return created
        created |= {i["entity_id"] for i in body["items"] if i["op"] == "created"}
        since = body["next_cursor"]


def _print_figures(records: list[dict[str, Any]], received: int, resumed_s: float) -> None:
    lines = ["", "upload latency around the broker restart (seconds):"]
    for name in ("before", "during", "after"):
        took = [r["s"] for r in records if r["phase"] == name]
        if took:
            lines.append(
                f"  {name:<7} n={len(took):>3}  median {statistics.median(took):.3f}"
                f"  max {max(took):.3f}"
            )
    lines.append(f"  MQTT messages received before the restart: {received}")
    lines.append(f"  MQTT events of post-restart uploads received within {resumed_s:.1f} s")
    print("\n".join(lines))
