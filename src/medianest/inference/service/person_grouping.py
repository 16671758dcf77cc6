"""Grouping jobs against the database and the vector store (rules in :mod:`.grouping`).

Where it runs: the ``person_grouping`` job is claimed by a worker like any job, but its handler
does nothing and its result sink (API side, in the transaction that completes the job) does the
work, because the API process alone owns the database and the vector store. At most one grouping
job is active at a time: jobs are queued for the sentinel media id 0, and the queue's unique index
on active (media, task) rows refuses a second one. Everything that writes faces or persons takes
the people lock first (:func:`repository.people.lock`), so a face stored while a grouping job runs
either is seen by it or queues the next job once it has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from medianest.inference import events
from medianest.inference.models import AssignedBy, DecisionKind, DetectedFace, FaceDecision
from medianest.inference.repository import jobs as jobs_repository
from medianest.inference.repository import people as repository
from medianest.inference.repository.queue import now_ms
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.service.grouping import (
    ArrayBackend,
    GroupingParams,
    group_faces,
)

log = logging.getLogger("medianest.inference.people")

TASK = "person_grouping"
SENTINEL_MEDIA_ID = 0
"""Grouping jobs are queued for this media id (never a store id): one active job at a time."""
PRIORITY = 4
MAX_ATTEMPTS = 3
IOU_SAME_FACE = 0.5


def params_from(settings: object) -> GroupingParams:
    return GroupingParams(
        max_distance=float(getattr(settings, "person_max_distance", 0.5)),
        min_faces=int(getattr(settings, "person_min_faces", 3)),
        neighbours=int(getattr(settings, "person_neighbours", 32)),
    )


def enqueue_grouping(session: Session) -> bool:
    """Queue a grouping job unless one is already pending or running (the DB decides)."""
    job = jobs_repository.insert_job(session, TASK, SENTINEL_MEDIA_ID, PRIORITY, MAX_ATTEMPTS)
    if job is not None:
        events.stage(session, events.job_event("queued", job))
    return job is not None


class IndexBackend:
    """Incremental grouping: neighbours from the face collection, states from the database."""

    def __init__(self, session: Session, index: VectorIndex, params: GroupingParams) -> None:
        self.session, self.index, self.params = session, index, params
        self.states: dict[str, repository.FaceState] = {}
        self.links: dict[str, set[int]] = {}
        self._neighbours: dict[str, list[tuple[str, float]]] = {}
        self.touched_persons: set[int] = set()
        self.assigned: set[str] = set()

    def load(self, face_ids: Sequence[str], *, links: bool = False) -> None:
        missing = [f for f in face_ids if f not in self.states]
        if missing:
            self.states.update(repository.face_states(self.session, missing))
        if links:
            self.load_links(face_ids)

    def load_links(self, face_ids: Sequence[str]) -> None:
        missing = [f for f in face_ids if f not in self.links]
        if missing:
            found = repository.cannot_links(self.session, missing)
            for face in missing:
                self.links[face] = found.get(face, set())

    def neighbours(self, face_id: str) -> list[tuple[str, float]]:
        if face_id in self._neighbours:
            return self._neighbours[face_id]
        vector = self.index.face_vector(face_id)
        if vector is None:
            self._neighbours[face_id] = []
            return []
        hits = self.index.similar_faces(
            vector, self.params.neighbours + 1, 1.0 - self.params.max_distance
        )
        pairs = [(h.id, max(0.0, 1.0 - h.score)) for h in hits if h.id != face_id]
        self.load([face for face, _ in pairs])
        known = [(f, d) for f, d in pairs if f in self.states][: self.params.neighbours]
        self._neighbours[face_id] = known
        return known

    def person_of(self, face_id: str) -> int | None:
        state = self.states.get(face_id)
        return state.person_id if state else None

    def is_free(self, face_id: str) -> bool:
        state = self.states.get(face_id)
        return state is not None and state.person_id is None and state.assigned_by is None

    def cannot_link(self, face_id: str) -> set[int]:
        if face_id not in self.links:  # a neighbour's links: read when first needed
            self.load_links([face_id])
        return self.links[face_id]

    def assign(self, face_id: str, person_id: int) -> None:
        state = self.states[face_id]
        self.states[face_id] = repository.FaceState(
            face_id, state.media_store_id, person_id, AssignedBy.auto.value
        )
        repository.set_person(self.session, [face_id], person_id, AssignedBy.auto)
        self.touched_persons.add(person_id)
        self.assigned.add(face_id)

    def new_person(self) -> int:
        person = repository.create_person(self.session)
        events.stage(self.session, events.person_event("person_created", person.id))
        return person.id

    def mark_waiting(self, face_id: str) -> None:
        """Nothing to write now: the run stamps every face it looked at (``grouped_at``)."""


@dataclass
class GroupingReport:
    grouped: int
    assigned: int
    created: int
    remaining: int

    def as_dict(self) -> dict[str, int]:
        return {
            "grouped": self.grouped,
            "assigned": self.assigned,
            "persons_created": self.created,
            "remaining": self.remaining,
        }


def run_grouping(
    session: Session, index: VectorIndex, params: GroupingParams, limit: int
) -> GroupingReport:
    """Group up to ``limit`` waiting faces (the grouping job's work), under the people lock."""
    repository.lock(session)
    states = repository.pending_states(session, limit)
    pending = [state.id for state in states]
    backend = IndexBackend(session, index, params)
    backend.states.update((state.id, state) for state in states)
    backend.load_links(pending)
    outcome = group_faces(backend, pending, params)
    looked_at = [face for face in pending if face not in backend.assigned]  # assigned: stamped
    repository.mark_grouped(session, looked_at)
    _refresh_covers(session, outcome.created)  # (a known person keeps its cover)
    # within the lock no face can have been stored since the read: fewer than asked, none left
    remaining = 1 if len(pending) == limit and repository.pending_faces(session, 1) else 0
    return GroupingReport(len(pending), outcome.assigned, len(outcome.created), remaining)


def _refresh_covers(session: Session, person_ids: Iterable[int]) -> None:
    for pid, person in repository.persons_by_id(session, person_ids).items():
        if person.cover_face_id is None:
            person.cover_face_id = repository.best_face(session, pid)


# -- full regroup ---------------------------------------------------------------------------------


@dataclass
class RegroupPlan:
    """A full regroup computed from a snapshot, applied later under the people lock."""

    snapshot_at: int
    ids: list[str]
    changed: dict[str, int]
    """face -> person: real ids (kept persons) or negative temporary ids (new groups)."""
    before: dict[str, int | None]
    unnamed: set[int]
    no_vector: list[str]
    assigned: int


def plan_regroup(session: Session, index: VectorIndex, params: GroupingParams) -> RegroupPlan:
    """Read the faces (one short read), then cluster in memory: no lock, no write."""
    snapshot_at = now_ms()
    states = repository.all_face_states(session)
    unnamed = set(repository.unnamed_person_ids(session))
    links = repository.all_cannot_links(session)
    session.rollback()  # end the read: the clustering below may take minutes
    return compute_plan(snapshot_at, states, unnamed, links, index, params)


def compute_plan(
    snapshot_at: int,
    states: list[repository.FaceState],
    unnamed: set[int],
    links: dict[str, set[int]],
    index: VectorIndex,
    params: GroupingParams,
) -> RegroupPlan:
    vectors, ids = _vectors(index, [s.id for s in states])
    keep = set(ids)

    def kept(state: repository.FaceState) -> bool:  # user placed, or in a named person
        if state.person_id is None or state.id not in keep:
            return False
        return not (state.assigned_by == AssignedBy.auto.value and state.person_id in unnamed)

    persons = {s.id: s.person_id for s in states if s.person_id is not None and kept(s)}
    pinned = {s.id for s in states if s.assigned_by == AssignedBy.user.value}
    backend = ArrayBackend(
        ids, vectors, params, persons, pinned, links, first_person_id=-(10**9)
    )  # fmt: skip
    outcome = group_faces(backend, ids, params)
    no_vector = [s.id for s in states if s.id not in keep and s.assigned_by != "user"]
    return RegroupPlan(
        snapshot_at, ids, dict(backend.changed), {s.id: s.person_id for s in states}, unnamed,
        no_vector, outcome.assigned,
    )  # fmt: skip


def apply_regroup(session: Session, plan: RegroupPlan) -> GroupingReport:
    """Write a plan under the people lock, re-checking each face against the user's decisions
    made meanwhile; faces stored since the snapshot wait for the next grouping job."""
    repository.lock(session)
    repository.reset_auto(session)
    session.flush()
    repository.requeue_newer(session, plan.snapshot_at)
    current = {s.id: s for s in repository.all_face_states(session, until=plan.snapshot_at)}
    links = repository.all_cannot_links(session)
    existing = repository.person_ids(session)
    valid: dict[str, int] = {}
    for face, person in plan.changed.items():
        state = current.get(face)
        if state is None or state.person_id is not None or state.assigned_by is not None:
            continue  # gone, or placed meanwhile
        if person >= 0 and (person not in existing or person in links.get(face, set())):
            continue
        valid[face] = person
    created = _settle_new_persons(session, valid, plan.before, plan.unnamed & existing)
    for face, person in list(valid.items()):  # a rebuilt group may take a refused person's id
        if person in links.get(face, set()):
            del valid[face]
    by_person: dict[int, list[str]] = {}
    for face, person in valid.items():
        by_person.setdefault(person, []).append(face)
    for person, faces in by_person.items():
        repository.set_person(session, faces, person, AssignedBy.auto)
    waiting = [
        f for f in plan.ids + plan.no_vector
        if f not in valid and f in current and current[f].person_id is None
        and current[f].assigned_by is None
    ]  # fmt: skip
    repository.set_person(session, waiting, None, None)  # looked at: stamped, not pending
    for gone in repository.drop_empty_unnamed(session, plan.unnamed):
        events.stage(session, events.person_event("person_deleted", gone, reason="regroup"))
    _refresh_covers(session, set(by_person))
    remaining = repository.count_pending(session)
    if remaining:
        enqueue_grouping(session)
    return GroupingReport(len(plan.ids), len(valid), created, remaining)


def regroup_all(session: Session, index: VectorIndex, params: GroupingParams) -> GroupingReport:
    """Re-group every embedded face in one transaction, keeping every decision.

    Kept as they are: faces placed by the user, the faces of named persons (naming a person
    confirms it), cannot-links and deleted faces. Everything else is grouped again from scratch
    with the same rules; each rebuilt group takes over the id (and hidden flag, cover) of the old
    unnamed person that held most of its faces, so ids stay stable where the groups did.
    (The API runs :func:`plan_regroup` and :func:`apply_regroup` in two transactions.)
    """
    repository.lock(session)
    states = repository.all_face_states(session)
    unnamed = set(repository.unnamed_person_ids(session))
    links = repository.all_cannot_links(session)
    plan = compute_plan(now_ms(), states, unnamed, links, index, params)
    return apply_regroup(session, plan)


def _settle_new_persons(
    session: Session,
    changed: dict[str, int],
    before: dict[str, int | None],
    old_unnamed: set[int],
) -> int:
    """Give each temporary person a real id: the old unnamed person it mostly is, or a new row."""
    members: dict[int, list[str]] = {}
    for face, person in changed.items():
        if person < 0:
            members.setdefault(person, []).append(face)
    mapping: dict[int, int] = {}
    reused: set[int] = set()
    created = 0
    for temp in sorted(members, key=lambda t: (-len(members[t]), t)):
        votes: dict[int, int] = {}
        for face in members[temp]:
            old = before.get(face)
            if old is not None and old in old_unnamed and old not in reused:
                votes[old] = votes.get(old, 0) + 1
        if votes:
            target = max(votes, key=lambda p: (votes[p], -p))
            reused.add(target)
        else:
            target = repository.create_person(session).id
            events.stage(session, events.person_event("person_created", target))
            created += 1
        mapping[temp] = target
    for face, person in list(changed.items()):
        if person < 0:
            changed[face] = mapping[person]
    return created


def _vectors(index: VectorIndex, face_ids: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    found = index.face_vectors(face_ids)
    ids = [f for f in face_ids if f in found]
    if not ids:
        return np.zeros((0, index.face.dim), dtype=np.float32), []
    return np.vstack([found[f] for f in ids]).astype(np.float32), ids


# -- hooks of the face sink and of media deletion ------------------------------------------------


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _box(face: DetectedFace | FaceDecision) -> tuple[int, int, int, int]:
    return (int(face.x), int(face.y), int(face.width), int(face.height))


def before_faces_stored(
    session: Session, media_store_id: int, rows: list[DetectedFace]
) -> list[DetectedFace]:
    """Called by the face sink before it replaces a media's faces (people lock taken here).

    Drops the faces the user deleted as false detections (same media, box IoU >= 0.5), carries
    each kept face's person over from the face it replaces (same id, or the decision's box), and
    re-attaches the user's decisions to the new face ids.
    """
    repository.lock(session)
    decisions = repository.decisions_of_media(session, media_store_id)
    deleted = [d for d in decisions if d.kind == DecisionKind.deleted.value]
    kept = [r for r in rows if not any(iou(_box(r), _box(d)) >= IOU_SAME_FACE for d in deleted)]
    old = {f.id: f for f in session.query(DetectedFace).filter_by(media_store_id=media_store_id)}
    for row in kept:
        previous = old.get(row.id)
        # same face id: same detector, same box; detection alone keeps the face's vector
        if (
            previous is not None
            and previous.embedding_model is not None
            and (row.embedding_model in (None, previous.embedding_model))
        ):
            row.person_id, row.assigned_by = previous.person_id, previous.assigned_by
            row.grouped_at = previous.grouped_at
    for decision in decisions:
        if decision.kind == DecisionKind.deleted.value:
            continue
        match = max(kept, key=lambda r: iou(_box(r), _box(decision)), default=None)
        if match is None or iou(_box(match), _box(decision)) < IOU_SAME_FACE:
            continue
        decision.face_id = match.id
        decision.x, decision.y = match.x, match.y
        decision.width, decision.height = match.width, match.height
        if decision.kind == DecisionKind.assigned.value:
            match.person_id, match.assigned_by = decision.person_id, AssignedBy.user.value
    gone_persons = {f.person_id for f in old.values() if f.person_id is not None} - {
        r.person_id for r in kept
    }
    session.info.setdefault("people_gone", set()).update(gone_persons)
    return kept


def after_faces_stored(session: Session, *, embeddings: bool) -> None:
    """Persons that lost every face disappear (unless named); new embeddings queue grouping."""
    gone = session.info.pop("people_gone", set())
    _drop_empty(session, gone)
    if embeddings:
        enqueue_grouping(session)


def media_deleted(session: Session, media_store_id: int) -> None:
    """Before the media's faces are deleted: remember their persons, drop its decisions."""
    repository.lock(session)
    session.info.setdefault("people_gone", set()).update(
        repository.person_ids_of_media(session, media_store_id)
    )
    repository.delete_decisions_of_media(session, media_store_id)


def after_media_deleted(session: Session) -> None:
    _drop_empty(session, session.info.pop("people_gone", set()))


def _drop_empty(session: Session, person_ids: set[int]) -> None:
    if not person_ids:
        return
    session.flush()
    for gone in repository.drop_empty_unnamed(session, person_ids):
        events.stage(session, events.person_event("person_deleted", gone, reason="no faces left"))
    for pid, person in repository.persons_by_id(session, person_ids).items():
        if (
            person.cover_face_id is not None
            and session.get(DetectedFace, person.cover_face_id) is None
        ):
            person.cover_face_id = repository.best_face(session, pid)
