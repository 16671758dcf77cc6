"""People through the API on SQLite and PostgreSQL: face results posted by a worker are grouped
by the ``person_grouping`` job (synthetic 128-d embeddings), then named, merged, moved, removed,
deleted; every user decision survives re-analysis, a full regroup and a restart."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from medianest.common.permissions import Permission
from medianest.inference.app import create_app
from medianest.inference.config import Settings
from medianest.inference.db import transaction
from medianest.inference.events import JobEvents
from medianest.inference.results.sinks import face_id_for
from medianest.inference.service import person_grouping
from medianest.inference.service.grouping import GroupingParams
from medianest.inference.service.jobs import enqueue
from medianest.inference.service.pipeline import media_deleted
from tests.conftest import TokenMinter

pytestmark = [pytest.mark.inference]

DIM = 128
MARKS = [[10.0, 10.0], [20.0, 10.0], [15.0, 15.0], [11.0, 20.0], [19.0, 20.0]]


def unit(vector: np.ndarray) -> list[float]:
    values: list[float] = (vector / np.linalg.norm(vector)).tolist()
    return values


class People:
    """Drives the API as a worker (face results, grouping jobs) and as a user."""

    def __init__(
        self, client: TestClient | httpx.Client, user: dict[str, str], worker: dict[str, str],
        admin: dict[str, str], app: Any = None,
    ) -> None:  # fmt: skip
        self.client, self.user, self.worker, self.admin = client, user, worker, admin
        self.app: Any = app if app is not None else getattr(client, "app", None)
        rng = np.random.default_rng(42)
        self.centres = [rng.normal(size=DIM) for _ in range(4)]
        self.rng = rng

    def vector(self, person: int) -> list[float]:
        return unit(self.centres[person] + self.rng.normal(scale=0.03, size=DIM))

    def faces(self, media_id: int, people: list[int | None]) -> list[str]:
        """Store a face_embedding result: one face per entry (None: a random stranger)."""
        return self.load({media_id: people})[media_id]

    def load(self, media: dict[int, list[int | None]]) -> dict[int, list[str]]:
        """face_embedding results for many media, queued, claimed and reported in one go."""
        results, ids = {}, {}
        for media_id, people in media.items():
            results[media_id], ids[media_id] = self._result(media_id, people)
        self.load_results(results)
        return ids

    def load_results(self, results: dict[int, dict[str, Any]]) -> None:
        """Queue face_embedding jobs, claim them as a worker and report these results."""
        state = self.app.state
        media = list(results)
        for start in range(0, len(media), 100):
            chunk = media[start : start + 100]
            with transaction(state.db) as session:
                for media_id in chunk:
                    enqueue(session, state.runtime, "face_embedding", media_id)
            self._report(chunk, results)

    def _report(self, media: list[int], results: dict[int, dict[str, Any]]) -> None:
        claim = {"worker_id": "w1", "task_types": ["face_embedding"], "max_jobs": len(media)}
        jobs = self.client.post("/worker/claim", json=claim, headers=self.worker).json()["jobs"]
        assert sorted(j["media_store_id"] for j in jobs) == sorted(media)
        reports = [
            {"job_id": job["job_id"], "attempt": job["attempts"],
             "result": results[job["media_store_id"]]}
            for job in jobs
        ]  # fmt: skip
        done = self.client.post("/worker/report", json={"worker_id": "w1", "reports": reports},
                                headers=self.worker)  # fmt: skip
        assert done.status_code == 200, done.text
        assert all(o["status"] == "completed" for o in done.json()["outcomes"]), done.text

    def _result(self, media_id: int, people: list[int | None]) -> tuple[dict[str, Any], list[str]]:
        faces, ids = [], []
        for i, person in enumerate(people):
            vector = unit(self.rng.normal(size=DIM)) if person is None else self.vector(person)
            box = {"x": 100 * i, "y": 10, "width": 50, "height": 60}
            faces.append({"bbox": box, "landmarks": MARKS, "confidence": 0.9 - i / 100,
                          "embedding": vector})  # fmt: skip
            ids.append(face_id_for(media_id, "yunet", "2023mar-int8bq", box))
        result = {"model": "sface", "model_version": "2021dec-int8bq",
                  "detector": {"model": "yunet", "model_version": "2023mar-int8bq"},
                  "faces": faces}  # fmt: skip
        return result, ids

    def run(self, task: str, media_id: int, result: Any) -> dict[str, Any]:
        queued = self.client.post(f"/job/{task}?force=true", json={"media_store_id": media_id},
                                  headers=self.user)  # fmt: skip
        assert queued.status_code == 201, queued.text
        return self.complete(task, result)

    def complete(self, task: str, result: Any) -> dict[str, Any]:
        claim = {"worker_id": "w1", "task_types": [task], "max_jobs": 1}
        jobs = self.client.post("/worker/claim", json=claim, headers=self.worker).json()["jobs"]
        assert len(jobs) == 1, f"expected one {task} job"
        body = {"worker_id": "w1", "attempt": jobs[0]["attempts"], "result": result}
        done = self.client.post(f"/worker/jobs/{jobs[0]['job_id']}/complete", json=body,
                                headers=self.worker)  # fmt: skip
        assert done.status_code == 200, done.text
        data: dict[str, Any] = done.json()
        assert data["status"] == "completed", data
        return data

    def group(self) -> dict[str, Any]:
        """Run the pending grouping job(s) as a worker would."""
        result: dict[str, Any] = {}
        claim = {"worker_id": "w1", "task_types": ["person_grouping"], "max_jobs": 5}
        while jobs := self.client.post("/worker/claim", json=claim, headers=self.worker).json()[
            "jobs"
        ]:
            assert len(jobs) == 1, "one grouping job at a time"
            body = {"worker_id": "w1", "attempt": jobs[0]["attempts"],
                    "result": {"grouping": "requested"}}  # fmt: skip
            done = self.client.post(f"/worker/jobs/{jobs[0]['job_id']}/complete", json=body,
                                    headers=self.worker)  # fmt: skip
            assert done.status_code == 200, done.text
            result = done.json()["result"]
        return result

    def pending_grouping(self) -> int:
        page = self.get("/job/", task_type="person_grouping", status="pending")
        return int(page["pagination"]["total_items"])

    def regroup(self) -> dict[str, Any]:
        """Start the full regroup (202) and wait for it to complete."""
        started = self.client.post("/admin/people/regroup", headers=self.admin)
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status: dict[str, Any] = self.client.get(
                "/admin/people/regroup", headers=self.admin
            ).json()
            if status["state"] != "running":
                assert status["state"] == "completed", status
                return status
            time.sleep(0.05)
        raise AssertionError("regroup did not finish")

    def get(self, path: str, **params: Any) -> Any:
        resp = self.client.get(path, params=params, headers=self.user)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        resp = self.client.request(method, path, headers=self.user, **kwargs)
        assert resp.status_code == expect, resp.text
        return resp.json() if resp.content else None

    def person_of(self, face_id: str) -> int | None:
        face: dict[str, Any] = self.get(f"/faces/{face_id}")
        person: int | None = face["person_id"]
        return person

    def people(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("/people", page_size=100, **params)["items"]
        return items


@pytest.fixture
def people_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(check_media_exists=False, person_batch=1000)


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def api(
    people_settings: Settings, user_headers: dict[str, str], worker_headers: dict[str, str],
    events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, token_minter: TokenMinter,
) -> Iterator[People]:  # fmt: skip
    original = JobEvents.publish

    def publish(self: JobEvents, event: dict[str, Any]) -> None:
        if "person_id" in event:
            events.append(event)
        original(self, event)

    monkeypatch.setattr(JobEvents, "publish", publish)
    with TestClient(create_app(people_settings)) as client:
        yield People(
            client, user_headers, worker_headers, token_minter.header(sub=1, is_admin=True)
        )


def test_faces_are_grouped_by_one_job_at_a_time_into_pure_persons(
    api: People, events: list[dict[str, Any]]
) -> None:
    faces: dict[int, list[str]] = {0: [], 1: []}
    for media in range(1, 5):
        ids = api.faces(media, [0, 1, None])
        faces[0].append(ids[0])
        faces[1].append(ids[1])
        if media < 3:
            assert api.pending_grouping() == 1  # never two grouping jobs
    report = api.group()
    assert report["remaining"] == 0
    people = api.people()
    assert len(people) == 2
    assert all(p["face_count"] == 4 and p["media_count"] == 4 for p in people)
    for person_faces in faces.values():
        assert len({api.person_of(f) for f in person_faces}) == 1
    assert api.person_of(faces[0][0]) != api.person_of(faces[1][0])
    assert [e["event"] for e in events] == ["person_created", "person_created"]
    one = api.get(f"/people/{people[0]['id']}")
    assert one["cover_face_id"] in faces[0] + faces[1]
    # a fifth photo joins the existing person without founding a new one
    (late,) = api.faces(9, [0])
    api.group()
    assert api.person_of(late) == api.person_of(faces[0][0])
    view = api.get("/entity/9/analysis")
    assert view["people"] == [{"id": api.person_of(late), "name": None}]
    labels = [{"label": "sunglasses", "probability": 0.8}]
    image = {"model": "efficientnet-lite0", "model_version": "1", "embedding": unit(np.ones(1280)),
             "label_model": "efficientnet-lite0", "labels": labels}  # fmt: skip
    api.run("image_embedding", 9, image)
    (match,) = api.get("/search/labels", q="sunglasses")["items"]
    assert match["people"] == [{"id": api.person_of(late), "name": None}]


def test_too_few_similar_faces_wait_unassigned_and_faces_without_embedding_are_listed(
    api: People,
) -> None:
    api.load({1: [2], 2: [2]})
    api.group()
    assert api.people() == []
    detection = {"detector": {"model": "yunet", "model_version": "2023mar-int8bq"},
                 "faces": [{"bbox": {"x": 1, "y": 1, "width": 30, "height": 30},
                            "landmarks": MARKS, "confidence": 0.7}]}  # fmt: skip
    api.run("face_detection", 3, detection)
    (blurred,) = api.get("/faces", media_store_id=3)["items"]
    assert (blurred["has_embedding"], blurred["person_id"]) == (False, None)
    api.faces(4, [2])
    api.group()
    (person,) = api.people()
    assert person["face_count"] == 3


def test_naming_searching_hiding_and_renaming(api: People, events: list[dict[str, Any]]) -> None:
    api.load({media: [0] for media in range(1, 4)})
    api.group()
    (person,) = api.people()
    pid = person["id"]
    named = api.call("PATCH", f"/people/{pid}", json={"name": "  Zoë   Saldaña "})
    assert named["name"] == "Zoë Saldaña"
    for query in ("zoe", "ZOË", "salda", "Zoe S"):
        found = api.get("/search/people", q=query)["items"]
        assert [p["id"] for p in found] == [pid], query
    assert api.get("/search/people", q="oe")["items"] == []
    assert [p["id"] for p in api.people(named=True)] == [pid]
    assert api.people(named=False) == []
    api.call("PATCH", f"/people/{pid}", json={"hidden": True})
    assert api.people(hidden=False) == []
    assert len(api.people(hidden=True)) == 1
    api.call("PATCH", f"/people/{pid}", json={"name": None})
    assert api.get(f"/people/{pid}")["name"] is None
    assert [e["event"] for e in events if e["event"] == "person_renamed"] == [
        "person_renamed", "person_renamed"
    ]  # fmt: skip


def test_merge_move_remove_and_regroup_keep_the_users_word(api: People) -> None:
    loaded = api.load({m: [(m - 1) // 3] for m in range(1, 10)})
    a, b, c = ([loaded[m][0] for m in range(s, s + 3)] for s in (1, 4, 7))
    api.group()
    pa, pb = api.person_of(a[0]), api.person_of(b[0])
    assert pa is not None
    assert pb not in (None, pa)
    api.regroup()
    assert (api.person_of(a[0]), api.person_of(b[0])) == (pa, pb)  # rebuilt groups keep ids
    api.call("PATCH", f"/people/{pb}", json={"name": "Bob"})
    # move one of A's faces to Bob: it stays there through grouping and regroup
    moved = api.call("PUT", f"/faces/{a[2]}/person", json={"person_id": pb})
    assert (moved["person_id"], moved["assigned_by"]) == (pb, "user")
    # remove one of Bob's own faces from Bob: never put back in Bob
    removed = api.call("PUT", f"/faces/{b[2]}/person", json={"person_id": None})
    assert removed["person_id"] is None
    api.group()
    assert api.person_of(b[2]) != pb
    api.regroup()
    assert api.person_of(a[2]) == pb
    assert api.person_of(b[2]) != pb
    assert api.person_of(b[0]) == pb  # a named person keeps its faces
    if api.person_of(a[0]) != pb:  # (A's faces may follow the face the user called Bob)
        assert api.person_of(a[0]) == api.person_of(a[1]) == pa
    # merge C into Bob: every face of C is Bob's, C is gone, and a regroup keeps it so
    pc = api.person_of(c[0])
    merged = api.call("POST", f"/people/{pb}/merge", json={"person_ids": [pc]})
    assert merged["name"] == "Bob"
    assert {api.person_of(f) for f in c} == {pb}
    api.call("GET", f"/people/{pc}", expect=404)
    api.regroup()
    assert {api.person_of(f) for f in c + b[:2] + a[2:]} == {pb}
    assert api.person_of(b[2]) != pb


def test_a_deleted_face_stays_gone_on_reanalysis_and_a_deleted_person_does_not_come_back(
    api: People,
) -> None:
    loaded = api.load({m: [0, 3] for m in range(1, 4)})
    ids = [loaded[m] for m in range(1, 4)]
    api.group()
    stranger = ids[0][1]
    api.call("DELETE", f"/faces/{stranger}", expect=204)
    api.call("GET", f"/faces/{stranger}", expect=404)
    api.faces(1, [0, 3])  # the media is analysed again: the false detection does not return
    assert len(api.get("/faces", media_store_id=1)["items"]) == 1
    pid = api.person_of(ids[1][0])
    api.call("DELETE", f"/people/{pid}", expect=204)
    assert all(api.person_of(face[0]) is None for face in ids[1:])
    api.group()
    api.regroup()
    assert all(api.person_of(face[0]) is None for face in ids[1:])


def test_faces_of_deleted_media_leave_their_person_and_empty_unnamed_persons_go(
    api: People, events: list[dict[str, Any]]
) -> None:
    api.load({m: [(m - 1) // 3] for m in range(1, 7)})
    api.group()
    named_face = api.get("/faces", media_store_id=4)["items"][0]
    named = named_face["person_id"]
    api.call("PATCH", f"/people/{named}", json={"name": "Kept"})
    state = api.app.state
    with transaction(state.db) as session:
        for media in range(1, 7):
            media_deleted(session, state.runtime, media)
    (left,) = api.people()
    assert (left["id"], left["face_count"], left["name"]) == (named, 0, "Kept")
    assert any(e["event"] == "person_deleted" for e in events)


def test_decisions_survive_a_restart(api: People, people_settings: Settings) -> None:
    loaded = api.load({m: [0] for m in range(1, 5)})
    a = [loaded[m][0] for m in range(1, 5)]
    api.group()
    pid = api.person_of(a[0])
    api.call("PUT", f"/faces/{a[3]}/person", json={"person_id": None})
    api.call("PATCH", f"/people/{pid}", json={"name": "Ann"})
    api.client.__exit__(None, None, None)
    with TestClient(create_app(people_settings)) as client:
        again = People(client, api.user, api.worker, api.admin)
        again.regroup()
        assert again.get(f"/people/{pid}")["name"] == "Ann"
        assert again.person_of(a[3]) != pid
        assert {again.person_of(f) for f in a[:3]} == {pid}


def test_bad_requests_get_clear_errors_and_change_nothing(
    api: People, token_minter: TokenMinter
) -> None:
    api.load({m: [0] for m in range(1, 4)})
    api.group()
    (person,) = api.people()
    pid = person["id"]
    api.call("GET", "/people/999999", expect=404)
    api.call("PATCH", f"/people/{pid}", expect=422, json={"nick": "x"})
    api.call("PATCH", f"/people/{pid}", expect=422, json={"name": "x" * 201})
    api.call("PATCH", f"/people/{pid}", expect=422, json={"cover_face_id": "not-a-face"})
    api.call("POST", f"/people/{pid}/merge", expect=422, json={"person_ids": [pid]})
    api.call("POST", f"/people/{pid}/merge", expect=404, json={"person_ids": [424242]})
    api.call("POST", f"/people/{pid}/merge", expect=422, json={"person_ids": []})
    face = api.get("/faces", media_store_id=1)["items"][0]["face_id"]
    api.call("PUT", f"/faces/{face}/person", expect=422, json={"person_id": 424242})
    api.call("PUT", f"/faces/{face}/person", expect=422, json={})
    api.call("PUT", "/faces/nope/person", expect=404, json={"person_id": pid})
    api.call("GET", "/people", expect=422, params={"order": "age"})
    api.call("GET", "/search/people", expect=422, params={"q": "!!"})
    assert api.get(f"/people/{pid}") == {**person, "updated_at": person["updated_at"]}
    reader = token_minter.header(sub=9, permissions=[Permission.MEDIA_STORE_READ.value])
    assert api.client.get("/people", headers=reader).status_code == 200
    renamed = api.client.patch(f"/people/{pid}", json={"name": "x"}, headers=reader)
    assert renamed.status_code == 403
    assert api.client.post("/admin/people/regroup", headers=api.user).status_code == 403
    assert api.client.get("/people").status_code == 401


def test_person_media_pages_list_each_photo_once(api: People) -> None:
    api.load({m: [0, 0] if m == 3 else [0] for m in range(1, 6)})
    api.group()
    (person,) = api.people()
    assert (person["face_count"], person["media_count"]) == (6, 5)
    first = api.get(f"/people/{person['id']}/media", page_size=3)
    second = api.get(f"/people/{person['id']}/media", page_size=3, page=2)
    media = [i["media_store_id"] for i in first["items"] + second["items"]]
    assert media == [5, 4, 3, 2, 1]
    assert first["pagination"]["total_items"] == 5
    three = next(i for i in first["items"] if i["media_store_id"] == 3)
    assert len(three["face_ids"]) == 2
    faces = api.get(f"/people/{person['id']}/faces", page_size=100)
    assert faces["pagination"]["total_items"] == 6


def test_person_events_reach_an_mqtt_subscriber(
    make_settings: Callable[..., Settings], user_headers: dict[str, str],
    worker_headers: dict[str, str], token_minter: TokenMinter,
) -> None:  # fmt: skip
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    url = os.environ.get("MEDIANEST_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    parsed = urlparse(url)
    messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                      client_id=f"test-people-{uuid.uuid4().hex[:8]}")  # fmt: skip
    sub.on_connect = lambda c, *_: c.subscribe([("medianest/inference/people/+", 1)])
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda _c, _u, m: messages.put((m.topic, json.loads(m.payload)))
    try:
        sub.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    except OSError:
        pytest.skip("no MQTT broker at " + url)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        settings = make_settings(check_media_exists=False, mqtt_url=url)
        admin = token_minter.header(sub=1, is_admin=True)
        with TestClient(create_app(settings)) as client:
            api = People(client, user_headers, worker_headers, admin)
            api.load({m: [0] for m in range(1, 4)})
            api.group()
            (person,) = api.people()
            api.call("PATCH", f"/people/{person['id']}", json={"name": "Mia"})
            seen: list[tuple[str, dict[str, Any]]] = []
            deadline = time.monotonic() + 15
            while len(seen) < 2 and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    seen.append(messages.get(timeout=0.5))
    finally:
        sub.loop_stop()
        sub.disconnect()
    topic = f"medianest/inference/people/{person['id']}"
    assert [(t, e["event"]) for t, e in seen] == [
        (topic, "person_created"), (topic, "person_renamed")
    ]  # fmt: skip
    assert seen[1][1]["name"] == "Mia"


def test_a_decision_made_while_a_regroup_computes_is_kept(api: People) -> None:
    loaded = api.load({m: [0] for m in range(1, 5)})
    faces = [loaded[m][0] for m in range(1, 5)]
    api.group()
    pid = api.person_of(faces[0])
    state = api.app.state
    index = state.runtime.resources.get("vector_store")
    with transaction(state.db) as session:
        plan = person_grouping.plan_regroup(session, index, GroupingParams())
    api.call("PUT", f"/faces/{faces[3]}/person", json={"person_id": None})  # meanwhile
    (late,) = api.faces(9, [0])  # stored meanwhile too
    with transaction(state.db) as session:
        person_grouping.apply_regroup(session, plan)
    assert api.person_of(faces[3]) != pid
    assert {api.person_of(f) for f in faces[:3]} == {pid}
    api.group()  # the face stored meanwhile waits for the next grouping job
    assert api.person_of(late) == pid


def test_detection_alone_rerun_keeps_each_face_in_its_person(api: People) -> None:
    loaded = api.load({m: [0] for m in range(1, 4)})
    api.group()
    face = loaded[1][0]
    pid = api.person_of(face)
    detection = {"detector": {"model": "yunet", "model_version": "2023mar-int8bq"},
                 "faces": [{"bbox": {"x": 0, "y": 10, "width": 50, "height": 60},
                            "landmarks": MARKS, "confidence": 0.9}]}  # fmt: skip
    api.run("face_detection", 1, detection)
    again = api.get(f"/faces/{face}")
    assert (again["person_id"], again["has_embedding"]) == (pid, True)
    assert api.get(f"/people/{pid}")["face_count"] == 3
