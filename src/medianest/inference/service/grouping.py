"""Grouping faces into persons: the rules (pure, over a :class:`Backend`) and its two backends.

Rules, for each face that waits for grouping (in order, oldest first):

1. **Join.** Look at its neighbours within ``max_distance`` (SFace cosine distance, at most
   ``neighbours`` of them). If some belong to persons the face is not cannot-linked to, it joins
   the person with the most such neighbours (ties: the nearest). Its free neighbours (unassigned,
   not pinned by the user) are then looked at again: they may now join too.
2. **Found.** Otherwise, when it and its free neighbours that no person would take number at
   least ``min_faces`` (a DBSCAN core point), they found a new person together, and the free
   neighbours of every founder are looked at again.
3. **Wait.** Otherwise it stays unassigned until a later face makes it a neighbour of a person
   or of a dense enough group.

Persons are never merged automatically (only the user merges); faces placed by the user
(``assigned_by == "user"``, also "in nobody") are never moved. A cluster thus grows by single
linkage from a dense core: two groups mix only if two of their faces are within
``max_distance``, and the measured default keeps that far from happening with SFace.

Backends: :class:`IndexBackend` (incremental jobs: neighbours from the vector store, states from
the database) and :class:`ArrayBackend` (full regroup and tests: every vector in memory,
neighbours by blockwise matrix products).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class GroupingParams:
    max_distance: float = 0.5
    min_faces: int = 3
    neighbours: int = 32


@dataclass
class Outcome:
    assigned: int = 0
    created: list[int] = field(default_factory=list)
    waiting: int = 0


class Backend(Protocol):
    def neighbours(self, face_id: str) -> list[tuple[str, float]]:
        """Embedded faces within max_distance, nearest first, the face itself excluded."""

    def person_of(self, face_id: str) -> int | None: ...

    def is_free(self, face_id: str) -> bool:
        """Unassigned and not placed by the user (so grouping may assign it)."""

    def cannot_link(self, face_id: str) -> set[int]: ...

    def assign(self, face_id: str, person_id: int) -> None: ...

    def new_person(self) -> int: ...

    def mark_waiting(self, face_id: str) -> None: ...


def best_person(backend: Backend, face_id: str, hits: Sequence[tuple[str, float]]) -> int | None:
    """The person with the most neighbours of the face (ties: nearest), cannot-links excluded."""
    excluded = backend.cannot_link(face_id)
    votes: dict[int, tuple[int, float]] = {}
    for other, distance in hits:
        person = backend.person_of(other)
        if person is None or person in excluded:
            continue
        count, nearest = votes.get(person, (0, distance))
        votes[person] = (count + 1, min(nearest, distance))
    if not votes:
        return None
    return min(votes, key=lambda p: (-votes[p][0], votes[p][1], p))


def group_faces(backend: Backend, face_ids: Iterable[str], params: GroupingParams) -> Outcome:
    """Apply the rules to ``face_ids`` (and to the waiting faces they make assignable)."""
    outcome = Outcome()
    queue = deque(face_ids)
    queued = set(queue)

    def again(ids: Iterable[str]) -> None:
        for other in ids:
            if other not in queued and backend.is_free(other):
                queued.add(other)
                queue.append(other)

    while queue:
        face = queue.popleft()
        queued.discard(face)
        if not backend.is_free(face):
            continue
        hits = backend.neighbours(face)
        person = best_person(backend, face, hits)
        if person is not None:
            backend.assign(face, person)
            outcome.assigned += 1
            again(other for other, _ in hits)
            continue
        founders = [face]
        for other, _ in hits:
            if (
                backend.is_free(other)
                and best_person(backend, other, backend.neighbours(other)) is None
            ):
                founders.append(other)
        if len(founders) < params.min_faces:
            backend.mark_waiting(face)
            outcome.waiting += 1
            continue
        person = backend.new_person()
        outcome.created.append(person)
        for member in founders:
            backend.assign(member, person)
            outcome.assigned += 1
        for member in founders:
            again(other for other, _ in backend.neighbours(member))
    return outcome


# -- in memory -----------------------------------------------------------------------------------


def radius_neighbours(
    vectors: npt.NDArray[np.float32], max_distance: float, k: int, block: int = 1024
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """For each row: up to ``k`` nearest other rows within ``max_distance`` (cosine distance of
    unit vectors), as ``(index, distance)`` arrays padded with -1 / inf, nearest first.

    Blockwise matrix products (memory: block x n floats); only the pairs within the distance,
    few in a photo library, are sorted.
    """
    n = len(vectors)
    k = max(1, k)
    indexes = np.full((n, k), -1, dtype=np.int32)
    distances = np.full((n, k), np.inf, dtype=np.float32)
    threshold = np.float32(1.0 - max_distance)
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = vectors[start:stop] @ vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        keep = cols != rows + start  # not its own neighbour
        rows, cols = rows[keep], cols[keep]
        dist = 1.0 - sims[rows, cols]
        order = np.lexsort((cols, dist, rows))  # by row, then nearest, then index
        rows, cols, dist = rows[order], cols[order], dist[order]
        first = np.searchsorted(rows, rows, side="left")
        rank = np.arange(len(rows)) - first
        within = rank < k
        indexes[rows[within] + start, rank[within]] = cols[within]
        distances[rows[within] + start, rank[within]] = dist[within]
    return indexes, distances


class ArrayBackend:
    """Every face and vector in memory: the full regroup, the tests and the bench."""

    def __init__(
        self,
        ids: Sequence[str],
        vectors: npt.NDArray[np.float32],
        params: GroupingParams,
        persons: dict[str, int] | None = None,
        pinned: Iterable[str] = (),
        cannot_links: dict[str, set[int]] | None = None,
        first_person_id: int = 1,
    ) -> None:
        self.ids = list(ids)
        self.position = {face: i for i, face in enumerate(self.ids)}
        self.person: dict[str, int] = dict(persons or {})
        self.pinned = set(pinned)
        self.links = cannot_links or {}
        self._next = first_person_id
        self.changed: dict[str, int] = {}
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self._idx, self._dist = radius_neighbours(
            np.ascontiguousarray(unit, dtype=np.float32), params.max_distance, params.neighbours
        )

    def neighbours(self, face_id: str) -> list[tuple[str, float]]:
        row = self.position[face_id]
        count = int(np.count_nonzero(self._idx[row] >= 0))
        ids = self.ids
        return [
            (ids[j], d)
            for j, d in zip(
                self._idx[row, :count].tolist(), self._dist[row, :count].tolist(), strict=True
            )
        ]

    def person_of(self, face_id: str) -> int | None:
        return self.person.get(face_id)

    def is_free(self, face_id: str) -> bool:
        return face_id not in self.person and face_id not in self.pinned

    def cannot_link(self, face_id: str) -> set[int]:
        return self.links.get(face_id, set())

    def assign(self, face_id: str, person_id: int) -> None:
        self.person[face_id] = person_id
        self.changed[face_id] = person_id

    def new_person(self) -> int:
        person = self._next
        self._next += 1
        return person

    def mark_waiting(self, face_id: str) -> None:  # noqa: ARG002 - nothing to record here
        return None
