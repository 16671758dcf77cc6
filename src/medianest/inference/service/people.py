"""People rules (no FastAPI): list, read, name, hide, merge, delete persons; move, remove and
delete faces; search by name; the full regroup. Every change takes the people lock first."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence

from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.common.errors import NotFound, ServiceUnavailable, Unprocessable
from medianest.common.pagination import Page, PageParams, Pagination
from medianest.inference import events
from medianest.inference.db import transaction
from medianest.inference.models import AssignedBy, DecisionKind, DetectedFace, Person
from medianest.inference.repository import people as repository
from medianest.inference.repository import results as results_repository
from medianest.inference.repository.queue import now_ms
from medianest.inference.results.people_schemas import (
    PersonMediaItem,
    PersonRead,
    PersonSearch,
    PersonUpdate,
    RegroupResponse,
    RegroupStatus,
)
from medianest.inference.results.schemas import FaceRead, PersonRef
from medianest.inference.results.sinks import VECTOR_STORE
from medianest.inference.results.vectors import VectorIndex
from medianest.inference.service import person_grouping
from medianest.inference.service.grouping import GroupingParams
from medianest.inference.service.runtime import Runtime
from medianest.inference.service.search import face_read
from medianest.inference.store_client import MediaNotFound, StoreClient, StoreUnavailable

log = logging.getLogger("medianest.inference.people")
ORDERS = ("face_count", "name")
REGROUP = "people_regroup"
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name: NFKD, marks dropped, casefolded, one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain.casefold()).strip()


def clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    cleaned = _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip()
    if any(unicodedata.category(c) == "Cc" for c in cleaned):
        raise Unprocessable("name must not contain control characters")
    return cleaned or None


def person_read(person: Person, faces: int, media: int) -> PersonRead:
    return PersonRead(
        id=person.id, name=person.name, face_count=faces, media_count=media,
        cover_face_id=person.cover_face_id, hidden=person.hidden,
        created_at=person.created_at, updated_at=person.updated_at,
    )  # fmt: skip


def _read(session: Session, person: Person) -> PersonRead:
    stats = repository.counts(session, [person.id])[person.id]
    return person_read(person, stats.faces, stats.media)


def _person(session: Session, person_id: int, *, lock: bool = False) -> Person:
    person = repository.get_person(session, person_id, lock_row=lock)
    if person is None:
        raise NotFound(f"person {person_id} not found")
    return person


def _face(session: Session, face_id: str) -> DetectedFace:
    face = results_repository.get_face(session, face_id)
    if face is None:
        raise NotFound("face not found")
    return face


# -- reading -------------------------------------------------------------------------------------


def list_people(
    session: Session, params: PageParams, named: bool | None, hidden: bool | None, order: str
) -> Page[PersonRead]:
    rows, total = repository.list_persons(
        session, named=named, hidden=hidden, order=order, offset=params.offset,
        limit=params.page_size,
    )  # fmt: skip
    return Page[PersonRead](
        items=[person_read(p, f, m) for p, f, m in rows],
        pagination=Pagination.build(params.page, params.page_size, total),
    )


def get_person(session: Session, person_id: int) -> PersonRead:
    return _read(session, _person(session, person_id))


def person_faces(session: Session, person_id: int, params: PageParams) -> Page[FaceRead]:
    _person(session, person_id)
    rows, total = repository.faces_of_person(session, person_id, params.offset, params.page_size)
    return Page[FaceRead](
        items=[face_read(r) for r in rows],
        pagination=Pagination.build(params.page, params.page_size, total),
    )


def person_media(
    session: Session, store: StoreClient | None, person_id: int, params: PageParams
) -> Page[PersonMediaItem]:
    """Media showing the person, newest upload first, with the store's capture dates."""
    _person(session, person_id)
    media, total = repository.media_of_person(session, person_id, params.offset, params.page_size)
    faces, _ = repository.faces_of_person(session, person_id, 0, 1_000_000) if media else ([], 0)
    by_media: dict[int, list[str]] = {}
    for face in faces:
        by_media.setdefault(face.media_store_id, []).append(face.id)
    items = [
        PersonMediaItem(media_store_id=m, capture_date=capture_date(store, m),
                        face_ids=by_media.get(m, []))
        for m in media
    ]  # fmt: skip
    return Page[PersonMediaItem](
        items=items, pagination=Pagination.build(params.page, params.page_size, total)
    )


def capture_date(store: StoreClient | None, media_store_id: int) -> int | None:
    if store is None:
        return None
    try:
        entity = store.entity(media_store_id)
    except (StoreUnavailable, MediaNotFound):
        return None
    value = entity.create_date if entity else None
    return int(value) if value is not None else None


def search_people(session: Session, query: str, limit: int) -> PersonSearch:
    key = fold(query)
    if not any(ch.isalnum() for ch in key):
        raise Unprocessable("q must contain at least one letter or digit")
    found = repository.search_names(session, key, limit)
    stats = repository.counts(session, [p.id for p in found])
    items = [person_read(p, stats[p.id].faces, stats[p.id].media) for p in found]
    return PersonSearch(query=query, items=items)


def people_of_media(session: Session, media_ids: Sequence[int]) -> dict[int, list[PersonRef]]:
    found = repository.persons_of_media(session, media_ids)
    return {m: [PersonRef(id=p.id, name=p.name) for p in ps] for m, ps in found.items()}


# -- changing ------------------------------------------------------------------------------------


def update_person(session: Session, person_id: int, body: PersonUpdate) -> PersonRead:
    repository.lock(session)
    person = _person(session, person_id, lock=True)
    sent = body.model_fields_set
    if "name" in sent:
        name = clean_name(body.name)
        if name != person.name:
            person.name, person.name_key = name, fold(name) if name else None
            events.stage(session, events.person_event("person_renamed", person.id, name=name))
    if "hidden" in sent:
        if body.hidden is None:
            raise Unprocessable("hidden must be true or false")
        person.hidden = body.hidden
    if "cover_face_id" in sent:
        if body.cover_face_id is not None:
            face = results_repository.get_face(session, body.cover_face_id)
            if face is None or face.person_id != person.id:
                raise Unprocessable("cover_face_id must be a face of this person")
        person.cover_face_id = body.cover_face_id or repository.best_face(session, person.id)
    person.updated_at = now_ms()
    session.flush()
    return _read(session, person)


def delete_person(session: Session, person_id: int) -> None:
    """The person goes; its faces become unassigned and stay so until the user places them
    (grouping neither puts them back together nor into another person)."""
    repository.lock(session)
    person = _person(session, person_id, lock=True)
    faces = repository.face_ids_of_persons(session, [person.id])
    for face in results_repository.faces_by_id(session, faces).values():
        repository.drop_assignment_decisions(session, face.id)
        repository.add_decision(session, DecisionKind.assigned, face, None)
    repository.set_person(session, faces, None, AssignedBy.user)
    repository.delete_person(session, person.id)
    events.stage(session, events.person_event("person_deleted", person.id, reason="user"))


def merge(session: Session, person_id: int, others: Sequence[int]) -> PersonRead:
    """Faces of ``others`` move into ``person_id``; the others are deleted; decisions follow."""
    repository.lock(session)
    ids = list(dict.fromkeys(others))
    if person_id in ids:
        raise Unprocessable("a person cannot be merged into itself")
    target = _person(session, person_id, lock=True)
    sources = repository.persons_by_id(session, ids)
    missing = [i for i in ids if i not in sources]
    if missing:
        raise NotFound(f"persons not found: {missing}")
    for source_id in ids:
        source = sources[source_id]
        if target.name is None and source.name is not None:
            target.name, target.name_key = source.name, source.name_key
        repository.move_person_faces(session, source_id, target.id)
        repository.retarget_decisions(session, source_id, target.id)
        repository.delete_person(session, source_id)
    if target.cover_face_id is None:
        target.cover_face_id = repository.best_face(session, target.id)
    target.updated_at = now_ms()
    session.flush()
    events.stage(session, events.person_event("person_merged", target.id, merged_ids=ids))
    return _read(session, target)


def set_face_person(session: Session, face_id: str, person_id: int | None) -> DetectedFace:
    """Move a face to a person (never moved again automatically) or out of its person (never
    put back in it; it may join another person)."""
    repository.lock(session)
    face = _face(session, face_id)
    if person_id is not None and repository.get_person(session, person_id) is None:
        raise Unprocessable(f"person {person_id} does not exist")
    previous = face.person_id
    if previous is not None and previous != person_id:
        repository.add_decision(session, DecisionKind.cannot_link, face, previous)
    repository.drop_assignment_decisions(session, face.id)
    if person_id is None:
        face.person_id, face.assigned_by = None, None
        face.grouped_at = None  # free again: the next grouping run looks at it
        if face.embedding_model is not None:
            person_grouping.enqueue_grouping(session)
    else:
        repository.drop_cannot_link(session, face.id, person_id)
        repository.add_decision(session, DecisionKind.assigned, face, person_id)
        face.person_id, face.assigned_by = person_id, AssignedBy.user.value
        face.grouped_at = now_ms()
        target = repository.get_person(session, person_id)
        if target is not None and target.cover_face_id is None:
            target.cover_face_id = face.id
    session.flush()
    if previous is not None and previous != person_id:
        _after_face_left(session, previous, face.id)
    return face


def delete_face(session: Session, index: VectorIndex | None, face_id: str) -> None:
    """A false detection: gone now and on every re-analysis of its media."""
    repository.lock(session)
    face = _face(session, face_id)
    previous = face.person_id
    repository.add_decision(session, DecisionKind.deleted, face, None)
    session.delete(face)
    session.flush()
    if index is not None:
        index.delete_faces([face_id])
    if previous is not None:
        _after_face_left(session, previous, face_id)


def _after_face_left(session: Session, person_id: int, face_id: str) -> None:
    for gone in repository.drop_empty_unnamed(session, [person_id]):
        events.stage(session, events.person_event("person_deleted", gone, reason="no faces left"))
    person = repository.get_person(session, person_id)
    if person is not None and person.cover_face_id == face_id:
        person.cover_face_id = repository.best_face(session, person_id)


class RegroupRunner:
    """One full regroup at a time, in a background thread of the API process: a short read,
    the clustering with no transaction open, then a short write under the people lock."""

    def __init__(self, db: Database, index: VectorIndex, params: GroupingParams) -> None:
        self.db, self.index, self.params = db, index, params
        self._lock = threading.Lock()
        self._status = RegroupStatus(state="idle")
        self._thread: threading.Thread | None = None

    def status(self) -> RegroupStatus:
        with self._lock:
            return self._status.model_copy()

    def start(self) -> RegroupStatus:
        with self._lock:
            if self._status.state != "running":
                self._status = RegroupStatus(state="running", started_at=now_ms())
                self._thread = threading.Thread(target=self._run, name="people-regroup",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            return self._status.model_copy()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            with transaction(self.db) as session:
                plan = person_grouping.plan_regroup(session, self.index, self.params)
            with transaction(self.db) as session:
                report = person_grouping.apply_regroup(session, plan)
            done = RegroupStatus(state="completed", report=RegroupResponse(**report.as_dict()))
        except Exception as exc:  # reported on GET, never lost in a thread
            log.exception("people regroup failed")
            done = RegroupStatus(state="failed", error=f"{type(exc).__name__}: {exc}")
        with self._lock:
            done.started_at = self._status.started_at
            done.finished_at = now_ms()
            self._status = done


def regroup_runner(rt: Runtime, db: Database) -> RegroupRunner:
    index = _vector_index(rt)
    runner = rt.background.get(REGROUP)
    if runner is None:
        runner = rt.background[REGROUP] = RegroupRunner(
            db, index, person_grouping.params_from(rt.settings)
        )
    assert isinstance(runner, RegroupRunner)
    return runner


def start_regroup(rt: Runtime, db: Database) -> RegroupStatus:
    return regroup_runner(rt, db).start()


def regroup_status(rt: Runtime, db: Database) -> RegroupStatus:
    return regroup_runner(rt, db).status()


def _vector_index(rt: Runtime) -> VectorIndex:
    try:
        index: VectorIndex = rt.resources.get(VECTOR_STORE)
    except KeyError as exc:
        raise ServiceUnavailable("the vector store is not available") from exc
    return index
