"""One service stopped and started again while the others run (real processes, no workers).

- The media store down while the inference service follows its change feed: the inference API
  stays healthy, its follower backs off, and once the store is back every upload gets its jobs.
- The inference API down while photos are uploaded and deleted: when it starts again it resumes
  from the cursor kept in its database; nothing uploaded meanwhile is skipped, nothing is queued
  twice, and the jobs of the deleted photo are gone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.inference.cluster import System, running_system
from tests.media_store import media_factory as mf
from tests.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.inference, pytest.mark.media_store]

PIPELINE = ("face_embedding", "image_embedding")  # the inference service's default pipeline


def _jobs(client: httpx.Client, system: System, media_id: int) -> list[dict[str, Any]]:
    resp = client.get(
        f"{system.urls['inference']}/job/", headers=system.headers,
        params={"media_store_id": media_id, "page_size": 100},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _queued_once(client: httpx.Client, system: System, media_ids: list[int]) -> bool:
    """True when every media has exactly one job per pipeline task (fails on a duplicate)."""
    for media_id in media_ids:
        tasks = Counter(job["task_type"] for job in _jobs(client, system, media_id))
        assert all(n <= 1 for n in tasks.values()), f"media {media_id} queued twice: {tasks}"
        if sorted(tasks) != sorted(PIPELINE):
            return False
    return True


def _upload(client: httpx.Client, system: System, seed: int) -> int:
    entity = system.upload(client, f"photo-{seed}.jpg", mf.jpeg_bytes(seed=seed))
    media_id: int = entity["id"]
    return media_id


def test_store_then_inference_restarted_nothing_skipped_nothing_doubled(tmp_path: Path) -> None:
    with running_system(tmp_path, workers=0) as system, httpx.Client(timeout=30) as client:
        logs = lambda: "\n".join(f"--- {n}\n{system.log(n)}" for n in ("inference", "media_store"))  # noqa: E731
        first = [_upload(client, system, seed) for seed in (1, 2, 3)]
        wait_until(lambda: _queued_once(client, system, first), "jobs of the first uploads",
                   60, logs)  # fmt: skip

        # The store goes away: the inference API keeps answering; its follower backs off.
        system.stop("media_store")
        wait_until(lambda: "change feed unavailable" in system.log("inference"),
                   "the follower to meet the outage", 30, logs)  # fmt: skip
        health = client.get(f"{system.urls['inference']}/health")
        assert health.status_code == 200, health.text
        assert len(_jobs(client, system, first[0])) == len(PIPELINE)
        system.start("media_store")
        second = [_upload(client, system, seed) for seed in (4, 5, 6)]
        wait_until(lambda: _queued_once(client, system, first + second),
                   "jobs of the uploads after the store came back", 60, logs)  # fmt: skip

        # The inference API goes away while photos come and one goes.
        system.stop("inference")
        third = [_upload(client, system, seed) for seed in (7, 8, 9)]
        gone = first[0]
        deleted = client.delete(f"{system.urls['media_store']}/entity/{gone}",
                                headers=system.headers)  # fmt: skip
        assert deleted.status_code == 204, deleted.text
        system.start("inference")
        kept = first[1:] + second + third
        wait_until(lambda: _queued_once(client, system, kept) and not _jobs(client, system, gone),
                   "the inference API to catch up from its cursor", 60, logs)  # fmt: skip

        everything = client.get(f"{system.urls['inference']}/job/", headers=system.headers,
                                params={"page_size": 100})  # fmt: skip
        assert everything.json()["pagination"]["total_items"] == len(kept) * len(PIPELINE)
