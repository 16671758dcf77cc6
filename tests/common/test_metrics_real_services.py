"""Prometheus metrics of the three services, scraped from real processes before and after real
traffic (uploads, a duplicate, jobs run by a real worker): the numbers move, labels are route
templates, and ``/metrics`` answers only the metrics token or an admin token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.inference.cluster import System, running_system
from tests.inference.photos import gradient, jpeg, noise
from tests.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

METRICS_TOKEN = "scrape-token-for-tests-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(system: System, service: str, token: str = METRICS_TOKEN) -> Samples:
    resp = httpx.get(
        f"{system.urls[service]}/metrics",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples named ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(lab)[label] for (n, lab) in samples if n == name and label in dict(lab)}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    env = {
        "MEDIANEST_METRICS_TOKEN": METRICS_TOKEN,
        "INFERENCE_ENABLE_TEST_TASKS": "1",
        "INFERENCE_PIPELINE_TASKS": "noop",
    }
    home: Path = tmp_path_factory.mktemp("metrics")
    with running_system(home, workers=1, extra_env=env) as running:
        yield running


def test_metrics_refuse_anonymous_and_wrong_tokens(system: System) -> None:
    for url in system.urls.values():
        assert httpx.get(f"{url}/metrics").status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert httpx.get(f"{url}/metrics", headers=wrong).status_code == 401
        assert httpx.get(f"{url}/metrics", headers=system.headers).status_code == 200


def test_numbers_move_after_real_traffic(system: System) -> None:
    before = {name: scrape(system, name) for name in system.urls}
    photo = jpeg(noise(seed=7))
    with httpx.Client() as client:
        first = system.upload(client, "a.jpg", photo)
        system.upload(client, "again.jpg", photo)  # same bytes: a duplicate
        second = system.upload(client, "b.jpg", jpeg(gradient()))
        client.get(f"{system.urls['media_store']}/entity/{first['id']}", headers=system.headers)
        client.get(f"{system.urls['media_store']}/entity/999999", headers=system.headers)

        def jobs_done() -> bool:
            statuses = []
            for entity in (first, second):
                resp = client.get(
                    f"{system.urls['inference']}/job/",
                    params={"media_store_id": entity["id"]},
                    headers=system.headers,
                )
                statuses += [j["status"] for j in resp.json()["items"]]
            return len(statuses) == 2 and set(statuses) == {"completed"}

        wait_until(jobs_done, "the noop jobs of both uploads", 90, lambda: system.log("worker"))
    after = {name: scrape(system, name) for name in system.urls}

    store_b, store = before["media_store"], after["media_store"]
    created = {"method": "POST", "route": "/entity/", "status": "201"}
    assert value(store, "medianest_http_requests_total", **created) == 2 + value(
        store_b, "medianest_http_requests_total", **created
    )
    dup = {"method": "POST", "route": "/entity/", "status": "200"}
    assert value(store, "medianest_http_requests_total", **dup) >= 1
    missing = {"method": "GET", "route": "/entity/{entity_id}", "status": "404"}
    assert value(store, "medianest_http_requests_total", **missing) >= 1
    assert value(store, "medianest_http_request_duration_seconds_count", **created) >= 2
    routes = label_values(store, "medianest_http_requests_total", "route")
    assert all("999999" not in r for r in routes)
    stored = value(store, "medianest_upload_bytes_total", outcome="stored")
    assert stored - value(store_b, "medianest_upload_bytes_total", outcome="stored") >= len(photo)
    assert value(store, "medianest_upload_bytes_total", outcome="duplicate") == len(photo)
    assert value(store, "medianest_disk_free_bytes") > 0

    inf = after["inference"]
    assert value(inf, "medianest_jobs", state="completed", task="noop") >= 2
    duration = {"task": "noop", "outcome": "completed"}
    assert value(inf, "medianest_job_duration_seconds_count", **duration) >= 2
    assert value(inf, "medianest_workers_alive") >= 1
    assert label_values(inf, "medianest_worker_last_heartbeat_timestamp_seconds", "worker_id")
    assert value(inf, "medianest_follower_cursor") >= 2  # two new contents in the feed
    assert value(inf, "medianest_follower_last_sync_timestamp_seconds") > 0
    assert ("medianest_follower_lag_seconds", frozenset()) in inf
    claims = {"method": "POST", "route": "/worker/claim"}
    assert value(inf, "medianest_http_requests_total", **claims) > value(
        before["inference"], "medianest_http_requests_total", **claims
    )

    auth = after["authentication"]
    assert value(auth, "medianest_http_requests_total", route="/auth/token", status="200") >= 1
    assert value(auth, "medianest_disk_free_bytes") > 0
