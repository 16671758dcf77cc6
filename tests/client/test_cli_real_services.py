"""The ``medianest`` user CLI against real services (processes started in tests/client/conftest):
an interrupted library upload that resumes without duplicates, every command at least once,
``--json`` parsed, and the documented exit codes."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from medianest.client import MediaNestClient
from medianest.client.models import FaceList, LabelSearch, SimilarImages
from tests.client.conftest import ADMIN_PASSWORD, Cluster

pytestmark = [pytest.mark.integration]

LIBRARY_SIZE = 40


def make_photo(path: Path, seed: int, size: tuple[int, int] = (640, 480)) -> Path:
    """A JPEG whose pixels are random for ``seed``: distinct content, distinct hashes."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92)
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> Path:
    """A user config dir with a logged-in admin session (made by `medianest login`)."""
    cfg = tmp_path_factory.mktemp("cli-config")
    result = cluster.cli("login", "-u", "admin", "--password", ADMIN_PASSWORD, "--json", config=cfg)
    assert result.json()["user"]["username"] == "admin"
    return cfg


@pytest.fixture(scope="module")
def sdk(cluster: Cluster) -> MediaNestClient:
    client = MediaNestClient(
        cluster.urls["authentication"], cluster.urls["media_store"], cluster.urls["inference"]
    )
    client.login("admin", ADMIN_PASSWORD)
    return client


@pytest.fixture(scope="module")
def photo_ids(
    tmp_path_factory: pytest.TempPathFactory, cluster: Cluster, config: Path
) -> list[int]:
    """Three photos uploaded with the CLI for the browsing tests: ids of browse-0, -1, -2."""
    folder = tmp_path_factory.mktemp("browse")
    for n in range(3):
        make_photo(folder / f"browse-{n}.jpg", 10_000 + n)
    result = cluster.cli("upload", str(folder), "--json", config=config).json()
    assert result["uploaded"] == 3
    return [f["entity_id"] for f in sorted(result["files"], key=lambda f: f["path"])]


# ---------------------------------------------------------------- session


def test_login_saves_a_private_session_used_by_whoami(cluster: Cluster, config: Path) -> None:
    creds = config / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert json.loads(creds.read_text())["tokens"]["refresh_token"]
    me = cluster.cli("whoami", "--json", config=config).json()
    assert me["username"] == "admin"
    assert me["is_admin"] is True


def test_login_with_a_wrong_password_exits_3(cluster: Cluster, tmp_path: Path) -> None:
    result = cluster.cli(
        "login", "-u", "admin", "--password", "wrong-password", config=tmp_path, check=3
    )
    assert "401" in result.stderr
    assert not (tmp_path / "credentials.json").exists()


def test_write_without_login_exits_3(cluster: Cluster, tmp_path: Path) -> None:
    result = cluster.cli("mkdir", "nope", config=tmp_path, check=3)
    assert "medianest login" in result.stderr


def test_logout_revokes_the_refresh_token(cluster: Cluster, tmp_path: Path) -> None:
    cluster.cli("login", "-u", "admin", "--password", ADMIN_PASSWORD, config=tmp_path)
    refresh = json.loads((tmp_path / "credentials.json").read_text())["tokens"]["refresh_token"]
    assert cluster.cli("logout", "--json", config=tmp_path).json() == {
        "logged_out": True,
        "revoked": True,
    }
    assert not (tmp_path / "credentials.json").exists()
    cluster.cli("whoami", config=tmp_path, check=3)
    reuse = httpx.post(
        cluster.urls["authentication"] + "/auth/refresh", json={"refresh_token": refresh}
    )
    assert reuse.status_code == 401


# ---------------------------------------------------------------- the library upload


def _count_in(sdk: MediaNestClient, collection: int) -> int:
    total = sdk.list_entities(1, 1, parent_id=collection).pagination.total_items
    assert total is not None  # page-number lists always count
    return total


def test_upload_killed_midway_resumes_to_completion_without_duplicates(
    cluster: Cluster, config: Path, sdk: MediaNestClient, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    for n in range(LIBRARY_SIZE):
        make_photo(library / f"{2020 + n % 3}" / f"IMG_{n:04d}.jpg", n, (1024, 768))
    (library / "notes.txt").write_text("not a photo")
    collection = cluster.cli("mkdir", "Library", "--json", config=config).json()["id"]

    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medianest",
            "upload",
            str(library),
            "--collection",
            str(collection),
            "--concurrency",
            "1",
            "--no-progress",
        ],
        env=cluster.cli_env(config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _count_in(sdk, collection) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first upload finished before it could be interrupted"
    first.send_signal(signal.SIGKILL)
    first.wait()
    stored_before = _count_in(sdk, collection)
    assert 3 <= stored_before < LIBRARY_SIZE

    summary = cluster.cli(
        "upload", str(library), "--collection", str(collection), "--json", config=config
    ).json()
    assert summary["failed"] == 0
    # skipped: what the store holds (the photo in flight at the kill may have been stored after
    # we counted, since the server finishes a request whose body arrived) plus notes.txt
    assert summary["skipped"] >= stored_before + 1
    assert summary["uploaded"] + summary["skipped"] + summary["duplicate"] == LIBRARY_SIZE + 1
    assert summary["duplicate"] <= 1  # only that in-flight photo, answered 200 by the store

    listing = cluster.cli(
        "ls", "--parent", str(collection), "--page-size", "100", "--json", config=config
    ).json()
    assert listing["pagination"]["total_items"] == LIBRARY_SIZE
    local = {hashlib.md5(p.read_bytes()).hexdigest() for p in library.rglob("*.jpg")}
    assert {e["md5"] for e in listing["items"]} == local


def test_upload_reports_failures_and_exits_1(
    cluster: Cluster, config: Path, tmp_path: Path
) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"this is text, not a jpeg")
    make_photo(tmp_path / "fine.jpg", 777)
    result = cluster.cli("upload", str(tmp_path), "--json", config=config, check=1)
    summary = result.json()
    assert summary["failed"] == 1
    assert summary["uploaded"] == 1
    failed = next(f for f in summary["files"] if f["status"] == "failed")
    assert failed["path"].endswith("broken.jpg")
    assert failed["reason"].startswith(("415", "422"))


# ---------------------------------------------------------------- browsing and editing


def test_ls_show_and_search_by_name(cluster: Cluster, config: Path, photo_ids: list[int]) -> None:
    listing = cluster.cli("ls", "--media", "--search", "browse-", "--json", config=config).json()
    assert sorted(e["id"] for e in listing["items"]) == sorted(photo_ids)
    shown = cluster.cli("show", str(photo_ids[0]), "--metadata", "--json", config=config).json()
    assert shown["original_filename"] == "browse-0.jpg"
    assert shown["metadata"]
    found = cluster.cli("search", "browse-1", "--names", "--json", config=config).json()
    assert [e["id"] for e in found] == [photo_ids[1]]
    human = cluster.cli("ls", "--search", "browse-", config=config)
    assert "browse-2.jpg" in human.stdout


def test_ls_by_cursor_and_the_admin_reports(
    cluster: Cluster, config: Path, sdk: MediaNestClient, photo_ids: list[int]
) -> None:
    args = ("ls", "--media", "--search", "browse-", "--page-size", "2", "--json")
    first = cluster.cli(*args, config=config).json()
    assert first["next_cursor"]
    rest = cluster.cli(*args, "--cursor", first["next_cursor"], config=config).json()
    assert rest["next_cursor"] is None
    assert [e["id"] for e in first["items"] + rest["items"]] == sorted(photo_ids)
    walked = sdk.iter_entities(page_size=1, search_query="browse-", is_collection=False)
    assert [e.id for e in walked] == sorted(photo_ids)
    storage = cluster.cli("admin", "storage", "--json", config=config).json()
    assert storage["originals"]["files"] >= len(photo_ids)
    audit = cluster.cli("admin", "audit", "--wait", "--json", config=config).json()
    assert (audit["status"], audit["corrupt"], audit["missing"]) == ("done", 0, 0)
    assert "audit" in cluster.cli("admin", "audit", "--latest", config=config).stdout


def test_download_writes_the_original_bytes(
    cluster: Cluster, config: Path, photo_ids: list[int], tmp_path: Path
) -> None:
    result = cluster.cli(
        "download", str(photo_ids[0]), "-o", f"{tmp_path}/out/", "--json", config=config
    ).json()
    assert Path(result["path"]).name == "browse-0.jpg"
    original = hashlib.md5(Path(result["path"]).read_bytes()).hexdigest()
    assert original == cluster.cli("show", str(photo_ids[0]), "--json", config=config).json()["md5"]
    thumb = cluster.cli(
        "download",
        str(photo_ids[0]),
        "--kind",
        "thumbnail",
        "-o",
        str(tmp_path / "t.img"),
        "--json",
        config=config,
    ).json()
    with Image.open(thumb["path"]) as img:
        assert max(img.size) <= 512


def test_mkdir_mv_versions_and_restore(
    cluster: Cluster, config: Path, photo_ids: list[int]
) -> None:
    album = cluster.cli("mkdir", "Album", "--json", config=config).json()
    nested = cluster.cli(
        "mkdir", "Nested", "--parent", str(album["id"]), "--json", config=config
    ).json()
    assert nested["parent_id"] == album["id"]
    target = photo_ids[2]
    moved = cluster.cli(
        "mv", str(target), "--parent", str(nested["id"]), "--json", config=config
    ).json()
    assert moved == [{"id": target, "ok": True}]
    versions = cluster.cli("versions", str(target), "--json", config=config).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert "parent_id" in versions[1]["changed_fields"]
    restored = cluster.cli("restore", str(target), "1", "--json", config=config).json()
    assert restored["parent_id"] is None
    old = cluster.cli("show", str(target), "--version", "2", "--json", config=config).json()
    assert old["parent_id"] == nested["id"]


def test_rm_trash_undo_and_purge(cluster: Cluster, config: Path, tmp_path: Path) -> None:
    make_photo(tmp_path / "doomed.jpg", 4242)
    entity = cluster.cli("upload", str(tmp_path), "--json", config=config).json()["files"][0]
    eid = str(entity["entity_id"])
    cluster.cli("rm", eid, config=config)
    assert cluster.cli("show", eid, "--json", config=config).json()["is_deleted"] is True
    cluster.cli("rm", "--undo", eid, config=config)
    assert cluster.cli("show", eid, "--json", config=config).json()["is_deleted"] is False
    purged = cluster.cli("rm", "--purge", eid, "999999", "--json", config=config, check=1).json()
    assert purged[0] == {"id": int(eid), "ok": True}
    assert purged[1]["status_code"] == 404
    cluster.cli("show", eid, config=config, check=4)


def test_duplicates_finds_a_resized_copy(cluster: Cluster, config: Path, tmp_path: Path) -> None:
    original = make_photo(tmp_path / "orig.jpg", 31337, (800, 600))
    with Image.open(original) as img:
        img.resize((400, 300)).save(tmp_path / "small.jpg", quality=70)
    files = cluster.cli("upload", str(tmp_path), "--json", config=config).json()["files"]
    ids = {Path(f["path"]).name: f["entity_id"] for f in files}
    near = cluster.cli("duplicates", str(ids["orig.jpg"]), "--json", config=config).json()
    assert ids["small.jpg"] in [n["entity"]["id"] for n in near["items"]]
    groups = cluster.cli("duplicates", "--json", config=config).json()
    assert any(set(ids.values()) <= set(g["entity_ids"]) for g in groups["groups"])


# ---------------------------------------------------------------- inference


def test_job_watch_follows_a_real_job_to_completion(
    cluster: Cluster, config: Path, sdk: MediaNestClient, photo_ids: list[int]
) -> None:
    job = sdk.create_job("image_info", photo_ids[0], priority=9)
    result = cluster.cli("job", job.job_id, "--watch", "--json", config=config, timeout=90)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["event"] == "state"
    assert lines[-1]["event"] == "final"
    assert lines[-1]["job"]["status"] == "completed"
    assert lines[-1]["job"]["result"]
    listed = cluster.cli(
        "jobs", "--media", str(photo_ids[0]), "--status", "completed", "--json", config=config
    ).json()
    assert job.job_id in [j["job_id"] for j in listed["items"]]
    shown = cluster.cli("job", job.job_id, "--json", config=config).json()
    assert shown["status"] == "completed"
    assert job.job_id in cluster.cli("jobs", config=config).stdout
    human = cluster.cli("job", job.job_id, "--watch", config=config)
    assert human.stdout.strip().endswith("completed")


def test_job_unknown_id_exits_4(cluster: Cluster, config: Path) -> None:
    cluster.cli("job", "no-such-job", config=config, check=4)


def test_search_commands_answer_in_json_before_analysis(
    cluster: Cluster, config: Path, photo_ids: list[int]
) -> None:
    media = str(photo_ids[0])
    faces = FaceList.model_validate(cluster.cli("faces", media, "--json", config=config).json())
    assert faces.media_store_id == photo_ids[0]
    found = cluster.cli("search", "cat", "--json", config=config).json()
    assert LabelSearch.model_validate(found).query == "cat"
    similar = cluster.cli("similar", media, "--json", config=config, check=None)
    if similar.code == 0:  # analysed already (the pipeline may run); else 404: no embedding yet
        SimilarImages.model_validate(similar.json())
    else:
        assert similar.code == 4


def _analyse(sdk: MediaNestClient, ids: list[int]) -> None:
    """Queue the ML tasks for ``ids`` and wait; skip when the models are not installed."""
    jobs = [sdk.create_job(t, i) for i in ids for t in ("image_embedding", "face_embedding")]
    deadline = time.monotonic() + 240
    for job in jobs:
        while (state := sdk.get_job(job.job_id)).status.value in ("pending", "processing"):
            assert time.monotonic() < deadline, f"{job.task_type} still {state.status.value}"
            time.sleep(0.5)
        if state.status.value != "completed":
            message = state.error_message or state.status.value
            if "not installed" in message:
                pytest.skip(f"inference models not available to the worker: {message}")
            pytest.fail(f"{job.task_type} on {job.media_store_id}: {message}")


def test_faces_similar_and_label_search_after_real_analysis(
    cluster: Cluster, config: Path, sdk: MediaNestClient, tmp_path: Path
) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    face = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage_data.astronaut()).save(face, quality=95)
    with Image.open(face) as img:
        img.resize((384, 384)).save(tmp_path / "astronaut-small.jpg", quality=60)
    make_photo(tmp_path / "noise.jpg", 123_456)
    files = cluster.cli("upload", str(tmp_path), "--json", config=config).json()["files"]
    ids = {Path(f["path"]).name: f["entity_id"] for f in files}
    _analyse(sdk, list(ids.values()))

    similar = cluster.cli("similar", str(ids["astronaut.jpg"]), "--json", config=config).json()
    assert similar["items"][0]["media_store_id"] == ids["astronaut-small.jpg"]
    faces = cluster.cli("faces", str(ids["astronaut.jpg"]), "--json", config=config).json()
    assert len(faces["items"]) == 1
    face_id = faces["items"][0]["face_id"]
    like = cluster.cli(
        "faces", str(ids["astronaut.jpg"]), "--similar", face_id, "--json", config=config
    ).json()
    assert like["items"][0]["media_store_id"] == ids["astronaut-small.jpg"]
    assert (
        cluster.cli("faces", str(ids["noise.jpg"]), "--json", config=config).json()["items"] == []
    )
    assert sdk.face_crop(face_id, size=64)[:2] == b"\xff\xd8"
    analysis = sdk.analysis(ids["astronaut.jpg"])
    top = analysis.labels[0].label.split(",")[0].split()[0]
    hits = cluster.cli("search", top, "--json", config=config).json()
    assert ids["astronaut.jpg"] in [m["media_store_id"] for m in hits["items"]]
    assert str(ids["astronaut.jpg"]) in cluster.cli("search", top, config=config).stdout


# ---------------------------------------------------------------- exit codes


def test_unknown_entity_exits_4(cluster: Cluster, config: Path) -> None:
    result = cluster.cli("show", "999999", config=config, check=4)
    assert "404" in result.stderr


def test_unreachable_service_exits_5(cluster: Cluster, config: Path) -> None:
    env_config = config
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    proc = subprocess.run(
        [sys.executable, "-m", "medianest", "ls"],
        env={**cluster.cli_env(env_config), "MEDIANEST_MEDIA_STORE_URL": dead},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 5
    assert "is the service running" in proc.stderr


def test_bad_usage_exits_2(cluster: Cluster, config: Path) -> None:
    cluster.cli("mv", "1", config=config, check=2)
    cluster.cli("ls", "--page-size", "1000", config=config, check=2)
