"""Results through the API (SQLite and PostgreSQL): sinks store faces, labels and vectors; the
search endpoints find them. The real models run once per module; the API is driven through the
worker protocol with their results."""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from medianest.common.permissions import Permission
from medianest.inference.app import create_app
from medianest.inference.config import ModelSettings, Settings
from medianest.inference.db import transaction
from medianest.inference.ml.registry import ModelRegistry
from medianest.inference.ml.tasks import MlTasks
from medianest.inference.results.identity import FACE_COLLECTION, IMAGE_COLLECTION
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.service.pipeline import media_deleted
from medianest.inference.tasks import TaskContext, TaskJob
from tests.conftest import TokenMinter
from tests.inference import photos
from tests.inference.photos import FakeMedia
from tests.inference.standin import Media, StandinStore

pytestmark = [pytest.mark.inference, pytest.mark.slow]

ASTRONAUT, GRACE, ASTRONAUT_COPY, COFFEE, COFFEE_COPY, CAT, GRADIENT = range(1, 8)
GRACE_FLIPPED, GRACE_RESIZED, GRACE_RECOMPRESSED = range(8, 11)
GRACE_COPIES = (GRACE_FLIPPED, GRACE_RESIZED, GRACE_RECOMPRESSED)


def _previews() -> dict[int, bytes]:
    astronaut_copy = photos.recompressed(photos.resized(photos.flipped(photos.astronaut()), 0.7))
    images = {
        ASTRONAUT: photos.astronaut(), GRACE: photos.grace_hopper(),
        ASTRONAUT_COPY: astronaut_copy, COFFEE: photos.coffee(),
        COFFEE_COPY: photos.recompressed(photos.coffee(), 30), CAT: photos.chelsea(),
        GRADIENT: photos.gradient(), GRACE_FLIPPED: photos.flipped(photos.grace_hopper()),
        GRACE_RESIZED: photos.resized(photos.grace_hopper(), 0.4),
        GRACE_RECOMPRESSED: photos.recompressed(photos.grace_hopper(), 20),
    }  # fmt: skip
    return {media_id: photos.jpeg(image) for media_id, image in images.items()}


@pytest.fixture(scope="module")
def analysed() -> tuple[dict[int, bytes], dict[str, dict[int, dict[str, Any]]]]:
    """Previews and the handlers' results per task and media (the models run once)."""
    previews = _previews()
    media = FakeMedia()
    for media_id, data in previews.items():
        with Image.open(io.BytesIO(data)) as img:
            media.add(media_id, data, img.width, img.height)
    tasks = MlTasks(ModelSettings(), ModelRegistry())
    jobs = [TaskJob(f"j{i}", "t", i) for i in previews]
    ctx = TaskContext(media)
    results = {
        "face_embedding": tasks.face_embedding(jobs, ctx),
        "face_detection": tasks.face_detection(jobs, ctx),
        "image_embedding": tasks.image_embedding(jobs, ctx),
    }
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for name, outcomes in results.items():
        assert all(isinstance(o, dict) for o in outcomes), outcomes
        out[name] = {job.media_store_id: o for job, o in zip(jobs, outcomes, strict=True)}  # type: ignore[misc]
    return previews, out


class Api:
    def __init__(self, client: TestClient, user: dict[str, str], worker: dict[str, str],
                 reader: dict[str, str]) -> None:  # fmt: skip
        self.client, self.user, self.worker, self.reader = client, user, worker, reader

    def run(self, task: str, media_id: int, result: Any) -> dict[str, Any]:
        """Queue a job, claim it as a worker and complete it with ``result``."""
        queued = self.client.post(f"/job/{task}?force=true", json={"media_store_id": media_id},
                                  headers=self.user)  # fmt: skip
        assert queued.status_code == 201, queued.text
        claim = {"worker_id": "w1", "task_types": [task], "max_jobs": 1}
        jobs = self.client.post("/worker/claim", json=claim, headers=self.worker).json()["jobs"]
        assert len(jobs) == 1
        body = {"worker_id": "w1", "attempt": jobs[0]["attempts"], "result": result}
        # json.dumps lets NaN through, as a buggy worker's encoder might
        done = self.client.post(
            f"/worker/jobs/{jobs[0]['job_id']}/complete",
            content=json.dumps(body),
            headers={**self.worker, "Content-Type": "application/json"},
        )
        assert done.status_code == 200, done.text
        data: dict[str, Any] = done.json()
        return data

    def get(self, path: str, **params: Any) -> Any:
        resp = self.client.get(path, params=params, headers=self.reader)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def index(self) -> VectorIndex:
        index: VectorIndex = self.client.app.state.runtime.resources.get("vector_store")  # type: ignore[attr-defined]
        return index


@pytest.fixture
def api(
    settings: Settings, store: StandinStore, analysed: Any, token_minter: TokenMinter,
    user_headers: dict[str, str], worker_headers: dict[str, str],
) -> Iterator[Api]:  # fmt: skip
    previews, _ = analysed
    for media_id, data in previews.items():
        store.put(media_id, Media(data))
    reader = token_minter.header(sub=5, permissions=[Permission.MEDIA_STORE_READ.value])
    with TestClient(create_app(settings)) as client:
        yield Api(client, user_headers, worker_headers, reader)


def load_all(api: Api, results: dict[str, dict[int, dict[str, Any]]]) -> None:
    for task in ("face_embedding", "image_embedding"):
        for media_id, result in results[task].items():
            assert api.run(task, media_id, result)["status"] == "completed"


def test_a_face_copy_is_nearer_to_the_original_face_than_the_other_person(
    api: Api, analysed: Any
) -> None:
    load_all(api, analysed[1])
    (copy_face,) = api.get("/faces", media_store_id=ASTRONAUT_COPY)["items"]
    similar = api.get(f"/faces/{copy_face['face_id']}/similar", min_score=-1)["items"]
    assert similar[0]["media_store_id"] == ASTRONAUT
    scores = {s["media_store_id"]: s["score"] for s in similar}
    assert scores[ASTRONAUT] > 0.363 > scores[GRACE]  # OpenCV's same-person threshold
    assert similar[0]["bbox"] is not None


@pytest.mark.parametrize("copy_id", GRACE_COPIES, ids=["flipped", "resized", "recompressed"])
def test_each_kind_of_face_copy_is_nearer_to_the_original_than_the_other_person(
    api: Api, analysed: Any, copy_id: int
) -> None:
    for media_id in (ASTRONAUT, GRACE, copy_id):
        api.run("face_embedding", media_id, analysed[1]["face_embedding"][media_id])
    (face,) = api.get("/faces", media_store_id=copy_id)["items"]
    similar = api.get(f"/faces/{face['face_id']}/similar", min_score=-1)["items"]
    assert [s["media_store_id"] for s in similar] == [GRACE, ASTRONAUT]
    assert similar[0]["score"] > 0.363 > similar[1]["score"]


def test_a_recompressed_photo_is_the_nearest_image_and_itself_is_excluded(
    api: Api, analysed: Any
) -> None:
    load_all(api, analysed[1])
    found = api.get("/search/similar-images", media_store_id=COFFEE_COPY, limit=3)
    ids = [item["media_store_id"] for item in found["items"]]
    assert ids[0] == COFFEE
    assert COFFEE_COPY not in ids
    assert found["model"] == "efficientnet-lite0"
    scores = [item["score"] for item in found["items"]]
    assert scores == sorted(scores, reverse=True)
    limited = api.get("/search/similar-images", media_store_id=COFFEE_COPY, min_score=0.99)
    assert limited["items"] == []


def test_labels_search_finds_the_coffee_and_the_cat(api: Api, analysed: Any) -> None:
    load_all(api, analysed[1])
    coffee = api.get("/search/labels", q="Espresso")["items"]
    assert {item["media_store_id"] for item in coffee} == {COFFEE, COFFEE_COPY}
    assert all(lb["label"] == "espresso" for item in coffee for lb in item["labels"])
    cats = api.get("/search/labels", q="cat")["items"]
    assert cats[0]["media_store_id"] == CAT
    both = api.get("/search/labels", q="cup tabby", limit=10)["items"]
    assert {item["media_store_id"] for item in both} >= {COFFEE, CAT}
    assert api.get("/search/labels", q="submarine")["items"] == []


def test_rerunning_a_task_replaces_faces_labels_and_vectors(api: Api, analysed: Any) -> None:
    results = analysed[1]
    for _ in range(2):
        api.run("face_embedding", ASTRONAUT, results["face_embedding"][ASTRONAUT])
        api.run("image_embedding", COFFEE, results["image_embedding"][COFFEE])
    faces = api.get("/faces", media_store_id=ASTRONAUT)["items"]
    assert len(faces) == 1
    assert faces[0]["has_embedding"]
    labels = api.get(f"/entity/{COFFEE}/analysis")["labels"]
    assert len(labels) == len(results["image_embedding"][COFFEE]["labels"])
    index = api.index()
    assert index.store.count(FACE_COLLECTION) == 1
    assert index.store.count(IMAGE_COLLECTION) == 1
    # detection alone keeps the face id (same detector, same image), so the vector still matches
    api.run("face_detection", ASTRONAUT, results["face_detection"][ASTRONAUT])
    again = api.get("/faces", media_store_id=ASTRONAUT)["items"]
    assert [f["face_id"] for f in again] == [faces[0]["face_id"]]
    assert again[0]["has_embedding"]


def test_job_row_keeps_the_result_without_raw_vectors(api: Api, analysed: Any) -> None:
    results = analysed[1]
    job = api.run("face_embedding", GRACE, results["face_embedding"][GRACE])
    face = job["result"]["faces"][0]
    assert "embedding" not in face
    assert set(face) == {"face_id", "bbox", "landmarks", "confidence"}
    assert job["result"]["face_count"] == 1
    job = api.run("image_embedding", GRACE, results["image_embedding"][GRACE])
    assert "embedding" not in job["result"]
    assert job["result"]["dim"] == 1280
    assert job["result"]["labels"]


def test_deleting_the_media_removes_faces_labels_and_vectors(api: Api, analysed: Any) -> None:
    load_all(api, analysed[1])
    state = api.client.app.state  # type: ignore[attr-defined]
    with transaction(state.db) as session:
        media_deleted(session, state.runtime, ASTRONAUT)
        media_deleted(session, state.runtime, COFFEE)
    assert api.get("/faces", media_store_id=ASTRONAUT)["items"] == []
    view = api.get(f"/entity/{COFFEE}/analysis")
    assert view == {
        "media_store_id": COFFEE, "faces": [], "labels": [], "jobs": [], "people": []
    }  # fmt: skip
    index = api.index()
    assert index.image_vector(COFFEE) is None
    # grace, her three copies and the astronaut copy remain
    assert index.store.count(FACE_COLLECTION) == 5
    resp = api.client.get("/search/similar-images", params={"media_store_id": COFFEE},
                          headers=api.reader)  # fmt: skip
    assert resp.status_code == 404
    nearest = api.get("/search/similar-images", media_store_id=COFFEE_COPY)["items"]
    assert COFFEE not in [item["media_store_id"] for item in nearest]


def _garbage(results: dict[str, dict[int, dict[str, Any]]]) -> list[tuple[str, Any, str]]:
    image = results["image_embedding"][COFFEE]
    face = results["face_embedding"][ASTRONAUT]
    short = {**image, "embedding": image["embedding"][:100]}
    nan = copy.deepcopy(face)
    nan["faces"][0]["embedding"][3] = math.nan
    no_labels = {k: v for k, v in image.items() if k != "labels"}
    other_model = {**image, "model": "clip-vit-b32"}
    bad_box = copy.deepcopy(face)
    bad_box["faces"][0]["bbox"]["width"] = -3
    return [
        ("image_embedding", short, "100 dimensions, the model has 1280"),
        ("face_embedding", nan, "not valid JSON"),
        ("image_embedding", no_labels, "missing key 'labels'"),
        ("image_embedding", other_model, "do not match the active model"),
        ("face_embedding", bad_box, "bbox.width must be an integer >= 1"),
        ("image_embedding", [1, 2, 3], "must be a JSON object"),
    ]


def test_garbage_results_fail_the_job_with_a_clear_message_and_store_nothing(
    api: Api, analysed: Any
) -> None:
    for task, result, message in _garbage(analysed[1]):
        media_id = COFFEE if task == "image_embedding" else ASTRONAUT
        job = api.run(task, media_id, result)
        assert job["status"] == "error"
        assert message in job["error_message"], job["error_message"]
    assert api.get("/faces", media_store_id=ASTRONAUT)["items"] == []
    assert api.get(f"/entity/{COFFEE}/analysis")["labels"] == []
    assert api.index().image_vector(COFFEE) is None


def test_face_crop_is_a_jpeg_of_the_face(api: Api, analysed: Any) -> None:
    api.run("face_embedding", ASTRONAUT, analysed[1]["face_embedding"][ASTRONAUT])
    (face,) = api.get("/faces", media_store_id=ASTRONAUT)["items"]
    resp = api.client.get(f"/faces/{face['face_id']}/crop", headers=api.reader)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(resp.content)) as crop:
        box = face["bbox"]
        assert crop.width == pytest.approx(box["width"] * 1.5, abs=3)
        assert crop.height == pytest.approx(box["height"] * 1.5, abs=3)
    small = api.client.get(f"/faces/{face['face_id']}/crop?size=64", headers=api.reader)
    with Image.open(io.BytesIO(small.content)) as crop:
        assert max(crop.size) == 64


def test_analysis_shows_faces_labels_and_job_states(api: Api, analysed: Any) -> None:
    api.run("face_embedding", GRACE, analysed[1]["face_embedding"][GRACE])
    api.run("image_embedding", GRACE, analysed[1]["image_embedding"][GRACE])
    view = api.get(f"/entity/{GRACE}/analysis")
    assert len(view["faces"]) == 1
    assert view["labels"][0]["probability"] >= view["labels"][-1]["probability"]
    assert sorted((j["task_type"], j["status"]) for j in view["jobs"]) == [
        ("face_embedding", "completed"),
        ("image_embedding", "completed"),
    ]
    face_id = view["faces"][0]["face_id"]
    assert api.get(f"/faces/{face_id}")["bbox"] == view["faces"][0]["bbox"]


def test_search_needs_read_or_inference_permission(
    api: Api, token_minter: TokenMinter, worker_headers: dict[str, str]
) -> None:
    paths = ["/faces?media_store_id=1", "/search/labels?q=cat", f"/entity/{GRACE}/analysis"]
    for path in paths:
        assert api.client.get(path).status_code == 401
        assert api.client.get(path, headers=worker_headers).status_code == 403
        assert api.client.get(path, headers=api.user).status_code == 200
        assert api.client.get(path, headers=token_minter.admin()).status_code == 200
    missing = api.client.get("/faces/nope", headers=api.reader)
    assert missing.status_code == 404
    assert api.client.get("/faces/nope/similar", headers=api.reader).status_code == 404
    no_vector = api.client.get("/search/similar-images?media_store_id=5", headers=api.reader)
    assert no_vector.status_code == 404
    assert "no image embedding" in no_vector.json()["detail"]
