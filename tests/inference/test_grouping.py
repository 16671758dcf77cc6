"""The grouping rules on synthetic 128-d embeddings (no database): clusters drawn around random
centres on the sphere with noise, outliers and near-touching clusters; cannot-links, faces
placed by the user, incremental arrival."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from medianest.inference.service.grouping import (
    ArrayBackend,
    GroupingParams,
    group_faces,
    radius_neighbours,
)

pytestmark = [pytest.mark.inference]

PARAMS = GroupingParams(max_distance=0.5, min_faces=3, neighbours=32)
DIM = 128


def unit(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    scaled: npt.NDArray[np.float32] = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(
        np.float32
    )
    return scaled


def clusters(
    rng: np.random.Generator, sizes: list[int], noise: float = 0.05
) -> tuple[npt.NDArray[np.float32], list[int]]:
    centres = unit(rng.normal(size=(len(sizes), DIM)))
    rows, labels = [], []
    for label, (centre, size) in enumerate(zip(centres, sizes, strict=True)):
        rows.append(centre + rng.normal(scale=noise, size=(size, DIM)))
        labels += [label] * size
    return unit(np.vstack(rows)), labels


def touching_pair(rng: np.random.Generator, size: int) -> npt.NDArray[np.float32]:
    """Two clusters whose centres are close: their nearest cross pair is just beyond eps."""
    a = unit(rng.normal(size=(1, DIM)))[0]
    other = rng.normal(size=DIM)
    perp = unit((other - a * (a @ other))[None, :])[0]
    angle = np.radians(66)  # centres 0.59 apart in cosine distance
    b = a * np.cos(angle) + perp * np.sin(angle)
    rows = [c + rng.normal(scale=0.03, size=(size, DIM)) for c in (a, b)]
    return unit(np.vstack(rows))


def groups(backend: ArrayBackend, ids: list[str]) -> dict[int, set[int]]:
    """person -> indexes of its faces."""
    found: dict[int, set[int]] = {}
    for i, face in enumerate(ids):
        person = backend.person_of(face)
        if person is not None:
            found.setdefault(person, set()).add(i)
    return found


def assert_pure_and_whole(
    found: dict[int, set[int]], labels: list[int], min_faces: int, outliers: set[int]
) -> None:
    by_label: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        if i not in outliers:
            by_label.setdefault(label, set()).add(i)
    for person, members in found.items():
        mixed = {labels[i] for i in members}
        assert len(mixed) == 1, f"person {person} mixes clusters {mixed}"
        assert not members & outliers, f"person {person} took outliers"
    for label, members in by_label.items():
        if len(members) >= min_faces:
            owners = [p for p, m in found.items() if m & members]
            assert len(owners) == 1, f"cluster {label} split over {owners}"
            assert found[owners[0]] == members, f"cluster {label} not whole"


def test_radius_neighbours_are_the_nearest_within_the_distance_and_never_the_face_itself() -> None:
    rng = np.random.default_rng(3)
    vectors = unit(rng.normal(size=(300, 16)))
    idx, dist = radius_neighbours(vectors, 0.8, 5, block=64)
    full = 1 - vectors @ vectors.T
    np.fill_diagonal(full, np.inf)
    for row in range(300):
        expected = [j for j in np.argsort(full[row], kind="stable")[:5] if full[row, j] <= 0.8]
        got = [int(j) for j in idx[row] if j >= 0]
        assert got == expected
        assert row not in got
        assert np.allclose(dist[row][: len(got)], full[row, got], atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_with_noise_and_outliers_form_one_pure_person_each(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [int(s) for s in rng.integers(1, 25, size=30)]  # some below min_faces
    vectors, labels = clusters(rng, sizes)
    outlier_vectors = unit(rng.normal(size=(40, DIM)))
    vectors = np.vstack([vectors, outlier_vectors])
    outliers = set(range(len(labels), len(labels) + 40))
    labels += [1000 + i for i in range(40)]
    order = rng.permutation(len(labels))  # faces arrive in any order
    ids = [f"f{i}" for i in range(len(labels))]
    backend = ArrayBackend(ids, vectors, PARAMS)
    outcome = group_faces(backend, [ids[i] for i in order], PARAMS)
    found = groups(backend, ids)
    assert_pure_and_whole(found, labels, PARAMS.min_faces, outliers)
    assert len(outcome.created) == sum(1 for s in sizes if s >= PARAMS.min_faces)
    for label, size in enumerate(sizes):  # too small groups wait, unassigned
        if size < PARAMS.min_faces:
            members = [i for i, lab in enumerate(labels) if lab == label]
            assert all(backend.person_of(ids[i]) is None for i in members)


def test_near_touching_clusters_stay_apart() -> None:
    rng = np.random.default_rng(7)
    vectors = np.vstack([touching_pair(rng, 12) for _ in range(6)])
    labels = [i // 12 for i in range(len(vectors))]
    cross = 1 - vectors[:12] @ vectors[12:24].T
    assert 0.5 < cross.min() < 0.8, "the fixture must put the clusters just beyond eps"
    ids = [f"f{i}" for i in range(len(vectors))]
    backend = ArrayBackend(ids, vectors, PARAMS)
    group_faces(backend, ids, PARAMS)
    assert_pure_and_whole(groups(backend, ids), labels, PARAMS.min_faces, set())


def test_incremental_arrival_gives_the_same_groups_as_all_at_once() -> None:
    rng = np.random.default_rng(11)
    vectors, labels = clusters(rng, [8, 5, 3, 2, 10])
    ids = [f"f{i}" for i in range(len(labels))]
    backend = ArrayBackend(ids, vectors, PARAMS)
    order = [int(i) for i in rng.permutation(len(ids))]
    for start in range(0, len(order), 4):  # one job per 4 faces, in random order
        group_faces(backend, [ids[i] for i in order[start : start + 4]], PARAMS)
    incremental = sorted(sorted(m) for m in groups(backend, ids).values())
    batch = ArrayBackend(ids, vectors, PARAMS)
    group_faces(batch, ids, PARAMS)
    assert incremental == sorted(sorted(m) for m in groups(batch, ids).values())
    assert_pure_and_whole(groups(backend, ids), labels, PARAMS.min_faces, set())


def test_a_face_waits_until_enough_close_faces_exist_then_founds_a_person() -> None:
    rng = np.random.default_rng(5)
    vectors, _ = clusters(rng, [3])
    ids = ["a", "b", "c"]
    for known in (1, 2):  # the faces stored so far
        backend = ArrayBackend(ids[:known], vectors[:known], PARAMS)
        assert group_faces(backend, ids[:known], PARAMS).waiting == known
        assert all(backend.person_of(f) is None for f in ids[:known])
    backend = ArrayBackend(ids, vectors, PARAMS)
    outcome = group_faces(backend, ["c"], PARAMS)  # the third one arrives
    assert len(outcome.created) == 1
    assert {backend.person_of(f) for f in ids} == {outcome.created[0]}


def test_cannot_links_and_user_placed_faces_are_respected() -> None:
    rng = np.random.default_rng(9)
    vectors, _ = clusters(rng, [6])
    ids = [f"f{i}" for i in range(6)]
    persons = {"f0": 50, "f1": 50}
    backend = ArrayBackend(
        ids, vectors, PARAMS, persons=persons, pinned={"f5"}, cannot_links={"f2": {50}},
        first_person_id=100,
    )  # fmt: skip
    group_faces(backend, ids, PARAMS)
    assert (backend.person_of("f3"), backend.person_of("f4")) == (50, 50)
    assert backend.person_of("f2") != 50  # removed from 50 by the user: never put back
    assert backend.person_of("f5") is None  # placed in nobody by the user: stays
