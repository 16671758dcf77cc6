"""The SDK against real services: tokens (refresh, rotation, logout), users and permissions,
uploads and their duplicate rules, versions, lookup, change feed, admin, jobs, async client."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
import threading
import time
from pathlib import Path

import httpx
import pytest

from medianest.client import (
    AsyncMediaNestClient,
    Conflict,
    Forbidden,
    MediaNestClient,
    MediaNestError,
    NotFound,
    Tokens,
    Unauthorized,
)
from medianest.client.models import UserCreate, UserUpdate
from tests.client.conftest import ADMIN_PASSWORD, Cluster
from tests.client.test_cli_real_services import make_photo

pytestmark = [pytest.mark.integration]


def new_client(cluster: Cluster, **kwargs: object) -> MediaNestClient:
    return MediaNestClient(
        cluster.urls["authentication"],
        cluster.urls["media_store"],
        cluster.urls["inference"],
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def admin(cluster: Cluster) -> MediaNestClient:
    client = new_client(cluster)
    client.login("admin", ADMIN_PASSWORD)
    return client


# ---------------------------------------------------------------- tokens


def test_expired_access_token_is_refreshed_and_the_old_refresh_token_dies(
    cluster: Cluster,
) -> None:
    saved: list[Tokens | None] = []
    client = new_client(cluster, on_tokens=saved.append)
    first = client.login("admin", ADMIN_PASSWORD)
    assert first.refresh_token
    client._state.tokens = first.model_copy(update={"expires_at": time.time() - 1})
    assert client.me().username == "admin"
    second = client.tokens
    assert second is not None
    assert second.refresh_token != first.refresh_token
    assert saved[-1] == second
    reuse = httpx.post(
        cluster.urls["authentication"] + "/auth/refresh",
        json={"refresh_token": first.refresh_token},
    )
    assert reuse.status_code == 401


def test_a_rejected_access_token_is_refreshed_once_on_401(cluster: Cluster) -> None:
    client = new_client(cluster)
    tokens = client.login("admin", ADMIN_PASSWORD)
    client._state.tokens = tokens.model_copy(update={"access_token": "garbage"})
    assert client.me().is_admin


def test_logout_revokes_and_forgets(cluster: Cluster) -> None:
    client = new_client(cluster)
    client.login("admin", ADMIN_PASSWORD)
    client.logout()
    assert client.tokens is None
    with pytest.raises(Unauthorized):
        client.me()


def test_public_key_material_and_permissions(admin: MediaNestClient) -> None:
    assert "BEGIN PUBLIC KEY" in admin.public_key().public_key
    assert admin.jwks().keys
    names = {p.name for p in admin.permissions()}
    assert {"media_store_read", "media_store_write", "ai_inference_support"} <= names
    assert admin.auth_health()["status"] == "ok"


# ---------------------------------------------------------------- users and permissions


def test_user_lifecycle_and_permission_checks(
    cluster: Cluster, admin: MediaNestClient, tmp_path: Path
) -> None:
    user = admin.create_user(
        UserCreate(username="reader1", password="reader-pass-1", permissions=["media_store_read"])
    )
    assert user.id in [u.id for u in admin.list_users()]
    reader = new_client(cluster)
    reader.login("reader1", "reader-pass-1")
    with pytest.raises(Forbidden):
        reader.upload(make_photo(tmp_path / "x.jpg", 1))
    updated = admin.update_user(user.id, UserUpdate(permissions=["media_store_write"]))
    assert updated.permissions == ["media_store_write"]
    reader.change_password("reader-pass-1", "reader-pass-2")
    admin.reset_password(user.id, "reader-pass-3")
    reader.login("reader1", "reader-pass-3")
    assert reader.upload(make_photo(tmp_path / "y.jpg", 2)).entity.added_by == user.id
    admin.delete_user(user.id)
    with pytest.raises(NotFound):
        admin.get_user(user.id)


# ---------------------------------------------------------------- store


def test_upload_of_known_content_returns_the_existing_entity(
    admin: MediaNestClient, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "a.jpg", 5001)
    first = admin.upload(photo, label="first")
    again = admin.upload(photo)
    assert first.created
    assert not again.created
    assert again.entity.id == first.entity.id
    md5 = hashlib.md5(photo.read_bytes()).hexdigest()
    found = admin.lookup([md5, "0" * 32])
    assert [(r.known, r.entity_id) for r in found] == [(True, first.entity.id), (False, None)]


def test_replace_patch_versions_and_conflict(admin: MediaNestClient, tmp_path: Path) -> None:
    one = admin.upload(make_photo(tmp_path / "one.jpg", 6001)).entity
    two = admin.upload(make_photo(tmp_path / "two.jpg", 6002)).entity
    replaced = admin.replace_entity(one.id, make_photo(tmp_path / "new.jpg", 6003), label="new")
    assert replaced.md5 != one.md5
    assert replaced.label == "new"
    with pytest.raises(Conflict):
        admin.replace_entity(one.id, tmp_path / "two.jpg")
    patched = admin.update_entity(one.id, description="d", label=None)
    assert (patched.description, patched.label) == ("d", None)
    assert [v.version for v in admin.versions(one.id)] == [1, 2, 3]
    assert admin.get_version(one.id, 1).md5 == one.md5
    back = admin.restore_version(one.id, 1)
    assert back.md5 == one.md5
    assert admin.file_bytes(one.id, version=2) == (tmp_path / "new.jpg").read_bytes()
    assert admin.metadata(two.id)
    admin.download(two.id, tmp_path / "preview.jpg", kind="preview")
    assert (tmp_path / "preview.jpg").stat().st_size > 0


def test_change_feed_and_iteration(admin: MediaNestClient, tmp_path: Path) -> None:
    start = admin.changes(0, 1000)
    while True:
        more = admin.changes(start.next_cursor, 1000)
        if not more.items:
            break
        start = more
    created = admin.upload(make_photo(tmp_path / "feed.jpg", 7001)).entity
    feed = admin.changes(start.next_cursor)
    assert [(c.entity_id, c.op.value) for c in feed.items] == [(created.id, "created")]
    assert created.id in [e.id for e in admin.iter_entities(page_size=5)]
    assert admin.store_banner().service == "media_store"


def test_store_events_stream_reports_new_uploads(cluster: Cluster, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "sse.jpg", 7101)
    md5 = hashlib.md5(photo.read_bytes()).hexdigest()
    seen: queue.Queue[dict[str, object]] = queue.Queue()

    def listen() -> None:
        # leaving the loop closes the stream, so the server need not wait for it at shutdown
        with contextlib.suppress(MediaNestError):
            for event in new_client(cluster).store_events():
                if event.get("md5") == md5:
                    seen.put(event)
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)  # let the subscription reach the server
    uploader = new_client(cluster)
    uploader.login("admin", ADMIN_PASSWORD)
    created = uploader.upload(photo).entity
    event = seen.get(timeout=15)
    assert (event["entity_id"], event["op"]) == (created.id, "created")
    listener.join(timeout=5)


def test_read_auth_switch_closes_anonymous_reads(cluster: Cluster, admin: MediaNestClient) -> None:
    anonymous = new_client(cluster)
    assert admin.set_read_auth(True).read_auth_enabled
    try:
        assert admin.store_config().read_auth_enabled
        deadline = time.monotonic() + 10
        while True:
            try:
                anonymous.list_entities()
            except Unauthorized:
                break
            assert time.monotonic() < deadline, "anonymous reads stayed open"
            time.sleep(0.3)
        assert (admin.list_entities().pagination.total_items or 0) >= 0
    finally:
        admin.set_read_auth(False)


# ---------------------------------------------------------------- inference


def _wait_done(admin: MediaNestClient, job_id: str) -> str:
    deadline = time.monotonic() + 60
    while (status := admin.get_job(job_id).status.value) in ("pending", "processing"):
        assert time.monotonic() < deadline, f"job {job_id} still {status}"
        time.sleep(0.2)
    return status


def test_jobs_create_cancel_and_admin(admin: MediaNestClient, tmp_path: Path) -> None:
    entity = admin.upload(make_photo(tmp_path / "job.jpg", 8001)).entity
    job = admin.create_job("image_info", entity.id)
    assert _wait_done(admin, job.job_id) == "completed"
    assert admin.get_job(job.job_id).result
    again = admin.create_job("image_info", entity.id, priority=1)
    assert again.job_id != job.job_id
    admin.cancel_job(again.job_id)
    with contextlib.suppress(NotFound):  # a pending job is removed; a held one is marked
        assert admin.get_job(again.job_id).status.value in ("cancelled", "completed")
    listed = admin.list_jobs(media_store_id=entity.id, status="completed")
    assert job.job_id in [j.job_id for j in listed.items]
    assert admin.inference_stats().counts.get("completed", 0) >= 1
    assert admin.inference_cleanup(older_than_s=3600).total == 0
    assert admin.inference_health().database == "ok"
    with pytest.raises(NotFound):
        admin.create_job("image_info", 99_999_999)


def test_failed_job_can_be_retried(admin: MediaNestClient) -> None:
    collection = admin.create_collection("no pixels here")  # image_info cannot decode it
    job = admin.create_job("image_info", collection.id)
    assert _wait_done(admin, job.job_id) == "error"
    retried = admin.retry_job(job.job_id)
    assert retried.job_id == job.job_id
    assert retried.status.value in ("pending", "processing", "error")
    with pytest.raises(MediaNestError):
        admin.retry_job(admin.create_job("image_info", collection.id, force=True).job_id)


def test_async_client_uploads_and_reads(cluster: Cluster, tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "async.jpg", 9001)

    async def run() -> tuple[bool, int, str]:
        async with AsyncMediaNestClient(
            cluster.urls["authentication"],
            cluster.urls["media_store"],
            cluster.urls["inference"],
        ) as client:
            await client.login("admin", ADMIN_PASSWORD)
            result = await client.upload(photo)
            entity = await client.get_entity(result.entity.id)
            path = await client.download(entity.id, tmp_path / "back.jpg")
            me = await client.me()
            return result.created, path.stat().st_size, me.username

    created, size, name = asyncio.run(run())
    assert created
    assert size == photo.stat().st_size
    assert name == "admin"
