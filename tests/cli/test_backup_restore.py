"""`medianest backup` of a running system while uploads and jobs continue, `medianest restore`
into a fresh data dir, and the restored system started: entities, versions, files, users, job
results and change-feed records are there and identical. A second backup copies only what is new;
a corrupted file in the backup is reported and nothing is restored."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from medianest.cli.backup.archive import read_manifest
from tests.inference.cluster import System, running_system
from tests.inference.photos import jpeg, noise
from tests.inference.standin import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = {"INFERENCE_ENABLE_TEST_TASKS": "1", "INFERENCE_PIPELINE_TASKS": "noop"}


@dataclass
class State:
    entities: dict[int, dict[str, Any]]
    versions: dict[int, list[dict[str, Any]]]
    files: dict[int, str]
    users: list[dict[str, Any]]
    jobs: dict[str, dict[str, Any]]
    changes: list[dict[str, Any]]


def _pages(client: httpx.Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(url, params={"page": page, "page_size": 100}, headers=headers).json()
        items += body["items"]
        if len(body["items"]) < 100:
            return items
        page += 1


def capture(system: System) -> State:
    store, inf, auth = (system.urls[n] for n in ("media_store", "inference", "authentication"))
    h = system.headers
    with httpx.Client(timeout=60) as c:
        entities = {e["id"]: e for e in _pages(c, f"{store}/entity/", h)}
        versions = {i: c.get(f"{store}/entity/{i}/versions", headers=h).json() for i in entities}
        files = {
            i: hashlib.sha256(c.get(f"{store}/entity/{i}/file", headers=h).content).hexdigest()
            for i, e in entities.items()
            if not e["is_collection"]
        }
        users = c.get(f"{auth}/users/", headers=h).json()
        jobs = {j["job_id"]: j for j in _pages(c, f"{inf}/job/", h)}
        changes = c.get(f"{store}/changes", params={"limit": 1000}, headers=h).json()["items"]
    return State(entities, versions, files, users, jobs, changes)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medianest", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


class Uploader(threading.Thread):
    """Keeps uploading new photos and replacing one entity's file until stopped."""

    def __init__(self, system: System, entity_id: int) -> None:
        super().__init__(daemon=True)
        self.system, self.entity_id = system, entity_id
        self.stop = threading.Event()
        self.count = 0

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                self.count += 1
                self.system.upload(
                    client, f"during-{self.count}.jpg", jpeg(noise(1000 + self.count))
                )
                client.put(
                    f"{self.system.urls['media_store']}/entity/{self.entity_id}",
                    headers=self.system.headers,
                    data={"is_collection": "false", "label": f"edit {self.count}"},
                    files={"image": ("e.jpg", jpeg(noise(5000 + self.count)), "image/jpeg")},
                )


@dataclass
class Scenario:
    live: State
    before: State
    restored: State
    backup_dir: Path
    backup_out: str
    second_out: str
    live_env: dict[str, str]
    during: int


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("backup")
    dest = root / "backup"
    with running_system(root / "live", workers=1, extra_env=ENV) as system:
        with httpx.Client(timeout=60) as client:
            first = [system.upload(client, f"p{i}.jpg", jpeg(noise(i))) for i in range(5)]
        before = capture(system)
        uploader = Uploader(system, first[0]["id"])
        uploader.start()
        try:
            backup = _cli(system.env, "backup", str(dest))
        finally:
            uploader.stop.set()
            uploader.join(60)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        second = _cli(system.env, "backup", str(dest))  # incremental, still online
        assert second.returncode == 0, second.stdout + second.stderr
        live_env = dict(system.env)
    # the system is stopped now: its state is final
    with running_system(root / "live", workers=0, extra_env=ENV) as system:
        live = capture(system)
    restored_home = root / "restored"
    env = _fresh_env_from(live_env, restored_home)
    restore = _cli(env, "restore", str(dest))
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "restore verified" in restore.stdout
    with running_system(restored_home, workers=0, extra_env=ENV) as system:
        restored = capture(system)
    return Scenario(live, before, restored, dest, backup.stdout, second.stdout, live_env,
                   uploader.count)  # fmt: skip


def _fresh_env_from(env: dict[str, str], home: Path) -> dict[str, str]:
    fresh = {**env, "MEDIANEST_HOME": str(home)}
    for var in ("MEDIANEST_AUTH_URL", "MEDIANEST_MEDIA_STORE_URL", "MEDIANEST_INFERENCE_URL"):
        fresh[var] = f"http://127.0.0.1:{free_port()}"  # nothing listens there: "stopped"
    return fresh


def test_everything_from_before_the_backup_is_restored_identically(scenario: Scenario) -> None:
    before, restored = scenario.before, scenario.restored
    assert scenario.during >= 1, "the uploads did not run during the backup"
    assert set(before.entities) <= set(restored.entities)
    for entity_id, entity in before.entities.items():
        if entity_id != min(before.entities):  # the one being edited during the backup
            assert restored.entities[entity_id] == entity
    assert {u["username"] for u in restored.users} >= {"admin", "medianest-worker"}


def test_restored_state_is_the_live_state_at_one_moment(scenario: Scenario) -> None:
    live, restored = scenario.live, scenario.restored
    for entity_id, entity in restored.entities.items():
        versions = restored.versions[entity_id]
        assert versions == live.versions[entity_id][: len(versions)]
        if entity_id in restored.files:  # the bytes served are the entity's own content
            assert restored.files[entity_id] == entity["sha256"]
    assert restored.changes == live.changes[: len(restored.changes)]
    assert restored.changes, "the change feed is empty"
    strip = ("created_at", "updated_at")
    assert [{k: v for k, v in u.items() if k not in strip} for u in restored.users] == [
        {k: v for k, v in u.items() if k not in strip} for u in live.users
    ]
    completed = [j for j in restored.jobs.values() if j["status"] == "completed"]
    assert completed
    for job in completed:
        assert job == live.jobs[job["job_id"]]


def test_second_backup_copies_only_what_is_new(scenario: Scenario) -> None:
    manifest = read_manifest(scenario.backup_dir)
    assert manifest is not None
    originals = [n for n in manifest.media if n.startswith("files/")]
    assert len(originals) >= 5 + scenario.during
    for name, entry in manifest.media.items():
        if name.startswith("files/"):
            assert name.endswith(entry.sha256)
    # nothing changed between the two runs but what the uploader added during the first one
    assert manifest.stats["copied_files"] < manifest.stats["media_files"]
    assert "vectors: recomputed" in scenario.second_out


def test_a_corrupted_file_in_the_backup_is_reported_and_nothing_restored(
    scenario: Scenario, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(scenario.backup_dir, copy)
    manifest = read_manifest(copy)
    assert manifest is not None
    name, entry = next((n, e) for n, e in manifest.media.items() if n.startswith("files/"))
    obj = copy / "objects" / entry.sha256[:2] / entry.sha256[2:4] / entry.sha256
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.write_bytes(bytes(data))
    home = tmp_path / "target"
    result = _cli(_fresh_env_from(scenario.live_env, home), "restore", str(copy))
    assert result.returncode == 1
    assert name in result.stderr
    assert "corrupted" in result.stderr
    assert not (home / "media_store" / "files").exists() or not any(
        (home / "media_store" / "files").iterdir()
    )
    assert not (home / "media_store.db").exists()
