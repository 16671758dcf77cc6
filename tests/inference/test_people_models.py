"""End to end with the real models: YuNet + SFace on the people test set (three persons from
packages under crops, scaling, rotation up to 15 degrees, brightness, JPEG quality, mirroring,
plus photos with no face), posted through the worker protocol and grouped by the grouping job
with the default settings. No person mixes two people; each person forms one person."""

from __future__ import annotations

from collections import defaultdict

import pytest

from medianest.inference.config import Settings
from medianest.inference.service.grouping import ArrayBackend, GroupingParams, group_faces
from tests.inference import people_photos
from tests.inference.test_people_api import People, api, events, people_settings  # noqa: F401

pytestmark = [pytest.mark.inference, pytest.mark.slow]

DEFAULTS = Settings()


def test_the_default_distance_separates_the_people_of_the_test_set() -> None:
    labels, vectors = people_photos.labelled_vectors()
    assert len(labels) == 3 * len(people_photos.EDITS)  # one face per edited photo, no other
    params = GroupingParams(DEFAULTS.person_max_distance, DEFAULTS.person_min_faces)
    ids = [str(i) for i in range(len(labels))]
    backend = ArrayBackend(ids, vectors, params)
    group_faces(backend, ids, params)
    precision, recall = people_photos.pairwise_precision_recall(
        labels, [backend.person_of(i) for i in ids]
    )
    assert (precision, recall) == (1.0, 1.0)


def test_grouping_job_puts_each_person_of_the_edited_photos_in_one_person(
    api: People,  # noqa: F811
) -> None:
    photos = people_photos.photo_set()
    results = people_photos.face_results()
    api.load_results({p.media_id: results[p.media_id] for p in photos})
    api.group()
    persons: dict[str, set[int | None]] = defaultdict(set)
    for photo in photos:
        faces = api.get("/faces", media_store_id=photo.media_id)["items"]
        if photo.person is None:
            assert faces == [], photo.edit
            continue
        assert len(faces) == 1, (photo.person, photo.edit)
        persons[photo.person].add(faces[0]["person_id"])
    assert all(len(found) == 1 and None not in found for found in persons.values()), persons
    ids = [next(iter(found)) for found in persons.values()]
    assert len(set(ids)) == len(ids), "two people in one person"
    listed = {p["id"]: p["face_count"] for p in api.people()}
    assert listed == {pid: len(people_photos.EDITS) for pid in ids}
