"""Every statement on persons, face assignments and face decisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from medianest.inference.models import (
    AssignedBy,
    DecisionKind,
    DetectedFace,
    FaceDecision,
    PeopleLock,
    Person,
)
from medianest.inference.repository.queue import now_ms

CHUNK = 500


def lock(session: Session) -> None:
    """Take the people lock (one row, ``UPDATE`` locks it) until the transaction ends.

    Every writer of faces or persons takes it FIRST, before touching any face row, so grouping,
    result sinks and the user's edits never interleave nor deadlock (PostgreSQL); on SQLite the
    write transaction already serialises writers and this is one cheap statement.
    """
    stmt = update(PeopleLock).where(PeopleLock.id == 1).values(updated_at=now_ms())
    if session.execute(stmt.execution_options(synchronize_session=False)).rowcount == 0:  # type: ignore[attr-defined]
        session.execute(insert(PeopleLock).values(id=1, updated_at=now_ms()))


# -- persons -----------------------------------------------------------------------------------


def create_person(session: Session, name: str | None = None, name_key: str | None = None) -> Person:
    now = now_ms()
    person = Person(name=name, name_key=name_key, hidden=False, created_at=now, updated_at=now)
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, person_id: int, *, lock_row: bool = False) -> Person | None:
    query = select(Person).where(Person.id == person_id)
    if lock_row:
        query = query.with_for_update()
    return session.scalars(query).first()


def persons_by_id(session: Session, ids: Iterable[int]) -> dict[int, Person]:
    wanted = sorted(set(ids))
    found: dict[int, Person] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for row in session.scalars(select(Person).where(Person.id.in_(chunk))):
            found[row.id] = row
    return found


@dataclass(frozen=True)
class PersonCounts:
    faces: int
    media: int


def _counts_query() -> Select[tuple[int | None, int, int]]:
    return select(
        DetectedFace.person_id,
        func.count(DetectedFace.id),
        func.count(func.distinct(DetectedFace.media_store_id)),
    ).group_by(DetectedFace.person_id)


def counts(session: Session, person_ids: Sequence[int]) -> dict[int, PersonCounts]:
    found = {pid: PersonCounts(0, 0) for pid in person_ids}
    if not person_ids:
        return found
    query = _counts_query().where(DetectedFace.person_id.in_(list(person_ids)))
    for pid, faces, media in session.execute(query):
        if pid is not None:
            found[int(pid)] = PersonCounts(int(faces), int(media))
    return found


def list_persons(
    session: Session,
    *,
    named: bool | None,
    hidden: bool | None,
    order: str,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Person, int, int]], int]:
    """Persons with their face and media counts; ``order``: face_count or name."""
    stats = _counts_query().where(DetectedFace.person_id.is_not(None)).subquery()
    face_count = func.coalesce(stats.c[1], 0)
    media_count = func.coalesce(stats.c[2], 0)
    query = select(Person, face_count, media_count).outerjoin(stats, stats.c.person_id == Person.id)
    conditions = []
    if named is not None:
        conditions.append(Person.name.is_not(None) if named else Person.name.is_(None))
    if hidden is not None:
        conditions.append(Person.hidden.is_(hidden))
    if conditions:
        query = query.where(and_(*conditions))
    if order == "name":
        query = query.order_by(Person.name_key.is_(None), Person.name_key, Person.id)
    else:
        query = query.order_by(face_count.desc(), Person.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.offset(offset).limit(limit)).all()
    return [(p, int(f), int(m)) for p, f, m in rows], int(total)


def search_names(session: Session, prefix_key: str, limit: int) -> list[Person]:
    """Persons whose folded name, or one of its words, starts with ``prefix_key``."""
    escaped = prefix_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(Person)
        .where(
            or_(
                Person.name_key.like(f"{escaped}%", escape="\\"),
                Person.name_key.like(f"% {escaped}%", escape="\\"),
            )
        )
        .order_by(Person.name_key, Person.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def delete_person(session: Session, person_id: int) -> None:
    session.execute(delete(Person).where(Person.id == person_id))


def drop_empty_unnamed(session: Session, person_ids: Iterable[int]) -> list[int]:
    """Delete the unnamed ones of ``person_ids`` that have no face left; returns their ids."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    has_faces = select(DetectedFace.person_id).where(DetectedFace.person_id.in_(ids)).distinct()
    used = {int(p) for p in session.scalars(has_faces) if p is not None}
    gone = [
        int(p)
        for p in session.scalars(select(Person.id).where(Person.id.in_(ids), Person.name.is_(None)))
        if int(p) not in used
    ]
    if gone:
        session.execute(delete(Person).where(Person.id.in_(gone)))
    return gone


def fill_covers(session: Session, person_ids: Sequence[int]) -> None:
    """Persons of ``person_ids`` without a cover face get their most confident face."""
    if not person_ids:
        return
    best = (
        select(DetectedFace.id)
        .where(DetectedFace.person_id == Person.id)
        .order_by(DetectedFace.confidence.desc(), DetectedFace.id)
        .limit(1)
        .scalar_subquery()
    )
    for start in range(0, len(person_ids), CHUNK):
        chunk = list(person_ids[start : start + CHUNK])
        session.execute(
            update(Person)
            .where(Person.id.in_(chunk), Person.cover_face_id.is_(None))
            .values(cover_face_id=best)
            .execution_options(synchronize_session=False)
        )


def clear_covers(session: Session, face_ids: Sequence[str]) -> None:
    if face_ids:
        session.execute(
            update(Person)
            .where(Person.cover_face_id.in_(list(face_ids)))
            .values(cover_face_id=None, updated_at=now_ms())
            .execution_options(synchronize_session=False)
        )


def persons_of_media(session: Session, media_ids: Sequence[int]) -> dict[int, list[Person]]:
    found: dict[int, list[Person]] = {m: [] for m in media_ids}
    if not media_ids:
        return found
    query = (
        select(DetectedFace.media_store_id, Person)
        .join(Person, Person.id == DetectedFace.person_id)
        .where(DetectedFace.media_store_id.in_(list(media_ids)))
        .order_by(Person.id)
    )
    for media, person in session.execute(query):
        if person not in found[int(media)]:
            found[int(media)].append(person)
    return found


# -- faces -------------------------------------------------------------------------------------


def faces_of_person(
    session: Session, person_id: int, offset: int, limit: int
) -> tuple[list[DetectedFace], int]:
    where = DetectedFace.person_id == person_id
    total = session.scalar(select(func.count()).select_from(DetectedFace).where(where)) or 0
    query = (
        select(DetectedFace)
        .where(where)
        .order_by(DetectedFace.media_store_id.desc(), DetectedFace.id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query)), int(total)


def media_of_person(
    session: Session, person_id: int, offset: int, limit: int
) -> tuple[list[int], int]:
    media = (
        select(DetectedFace.media_store_id)
        .where(DetectedFace.person_id == person_id)
        .distinct()
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(media)) or 0
    query = select(media.c.media_store_id).order_by(media.c.media_store_id.desc())
    rows = session.scalars(query.offset(offset).limit(limit))
    return [int(m) for m in rows], int(total)


def best_face(session: Session, person_id: int) -> str | None:
    """The most confident face of a person (the default cover)."""
    query = (
        select(DetectedFace.id)
        .where(DetectedFace.person_id == person_id)
        .order_by(DetectedFace.confidence.desc(), DetectedFace.id)
        .limit(1)
    )
    return session.scalar(query)


def set_person(
    session: Session, face_ids: Sequence[str], person_id: int | None, by: AssignedBy | None
) -> None:
    now = now_ms()
    for start in range(0, len(face_ids), CHUNK):
        chunk = list(face_ids[start : start + CHUNK])
        session.execute(
            update(DetectedFace)
            .where(DetectedFace.id.in_(chunk))
            .values(person_id=person_id, assigned_by=by.value if by else None, grouped_at=now)
            .execution_options(synchronize_session=False)
        )


def mark_grouped(session: Session, face_ids: Sequence[str]) -> None:
    """Faces looked at by a grouping run stop waiting (whatever became of them)."""
    now = now_ms()
    for start in range(0, len(face_ids), CHUNK):
        chunk = list(face_ids[start : start + CHUNK])
        session.execute(
            update(DetectedFace)
            .where(DetectedFace.id.in_(chunk), DetectedFace.grouped_at.is_(None))
            .values(grouped_at=now)
            .execution_options(synchronize_session=False)
        )


def move_person_faces(session: Session, source: int, target: int) -> None:
    session.execute(
        update(DetectedFace)
        .where(DetectedFace.person_id == source)
        .values(person_id=target)
        .execution_options(synchronize_session=False)
    )


def face_ids_of_persons(session: Session, person_ids: Sequence[int]) -> list[str]:
    if not person_ids:
        return []
    query = select(DetectedFace.id).where(DetectedFace.person_id.in_(list(person_ids)))
    return list(session.scalars(query))


def person_ids_of_media(session: Session, media_store_id: int) -> set[int]:
    query = select(DetectedFace.person_id).where(
        DetectedFace.media_store_id == media_store_id, DetectedFace.person_id.is_not(None)
    )
    return {int(p) for p in session.scalars(query) if p is not None}


def pending_faces(session: Session, limit: int) -> list[str]:
    """Embedded faces waiting for grouping, oldest first."""
    query = (
        select(DetectedFace.id)
        .where(DetectedFace.grouped_at.is_(None), DetectedFace.embedding_model.is_not(None))
        .order_by(DetectedFace.created_at, DetectedFace.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def pending_states(session: Session, limit: int) -> list[FaceState]:
    """Embedded faces waiting for grouping, oldest first, with their assignment."""
    query = (
        select(
            DetectedFace.id, DetectedFace.media_store_id, DetectedFace.person_id,
            DetectedFace.assigned_by,
        )
        .where(DetectedFace.grouped_at.is_(None), DetectedFace.embedding_model.is_not(None))
        .order_by(DetectedFace.created_at, DetectedFace.id)
        .limit(limit)
    )  # fmt: skip
    return [
        FaceState(fid, int(m), None if p is None else int(p), by)
        for fid, m, p, by in session.execute(query)
    ]


def count_pending(session: Session) -> int:
    query = select(func.count()).where(
        DetectedFace.grouped_at.is_(None), DetectedFace.embedding_model.is_not(None)
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class FaceState:
    id: str
    media_store_id: int
    person_id: int | None
    assigned_by: str | None


def face_states(session: Session, face_ids: Sequence[str]) -> dict[str, FaceState]:
    """Assignment of embedded faces (faces without an embedding are left out)."""
    found: dict[str, FaceState] = {}
    for start in range(0, len(face_ids), CHUNK):
        chunk = list(face_ids[start : start + CHUNK])
        query = select(
            DetectedFace.id, DetectedFace.media_store_id, DetectedFace.person_id,
            DetectedFace.assigned_by,
        ).where(DetectedFace.id.in_(chunk), DetectedFace.embedding_model.is_not(None))  # fmt: skip
        for fid, media, pid, by in session.execute(query):
            found[fid] = FaceState(fid, int(media), None if pid is None else int(pid), by)
    return found


def all_face_states(session: Session, until: int | None = None) -> list[FaceState]:
    """Every face (oldest first), or those stored at or before ``until`` (epoch ms)."""
    query = select(
        DetectedFace.id, DetectedFace.media_store_id, DetectedFace.person_id,
        DetectedFace.assigned_by,
    ).order_by(DetectedFace.created_at, DetectedFace.id)  # fmt: skip
    if until is not None:
        query = query.where(DetectedFace.created_at <= until)
    return [
        FaceState(fid, int(m), None if p is None else int(p), by)
        for fid, m, p, by in session.execute(query)
    ]


def reset_auto(session: Session) -> None:
    """Full regroup: every automatic assignment to an unnamed person is undone (user
    assignments and named persons' faces stay)."""
    unnamed = select(Person.id).where(Person.name.is_(None))
    session.execute(
        update(DetectedFace)
        .where(
            DetectedFace.assigned_by == AssignedBy.auto.value,
            DetectedFace.person_id.in_(unnamed),
        )
        .values(person_id=None, assigned_by=None)
        .execution_options(synchronize_session=False)
    )


def requeue_newer(session: Session, since: int) -> None:
    """Free faces stored after ``since`` wait for the next grouping job."""
    session.execute(
        update(DetectedFace)
        .where(
            DetectedFace.created_at > since,
            DetectedFace.person_id.is_(None),
            DetectedFace.assigned_by.is_(None),
            DetectedFace.embedding_model.is_not(None),
        )
        .values(grouped_at=None)
        .execution_options(synchronize_session=False)
    )


def person_ids(session: Session) -> set[int]:
    return {int(p) for p in session.scalars(select(Person.id))}


def unnamed_person_ids(session: Session) -> list[int]:
    return [int(p) for p in session.scalars(select(Person.id).where(Person.name.is_(None)))]


# -- decisions ---------------------------------------------------------------------------------


def add_decision(
    session: Session, kind: DecisionKind, face: DetectedFace, person_id: int | None
) -> None:
    session.add(
        FaceDecision(
            kind=kind.value, face_id=face.id, media_store_id=face.media_store_id, x=face.x,
            y=face.y, width=face.width, height=face.height, person_id=person_id,
            created_at=now_ms(),
        )
    )  # fmt: skip
    session.flush()


def drop_assignment_decisions(session: Session, face_id: str) -> None:
    session.execute(
        delete(FaceDecision).where(
            FaceDecision.face_id == face_id, FaceDecision.kind == DecisionKind.assigned.value
        )
    )


def drop_cannot_link(session: Session, face_id: str, person_id: int) -> None:
    session.execute(
        delete(FaceDecision).where(
            FaceDecision.face_id == face_id,
            FaceDecision.kind == DecisionKind.cannot_link.value,
            FaceDecision.person_id == person_id,
        )
    )


def cannot_links(session: Session, face_ids: Sequence[str]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for start in range(0, len(face_ids), CHUNK):
        chunk = list(face_ids[start : start + CHUNK])
        query = select(FaceDecision.face_id, FaceDecision.person_id).where(
            FaceDecision.face_id.in_(chunk),
            FaceDecision.kind == DecisionKind.cannot_link.value,
        )
        for fid, pid in session.execute(query):
            if pid is not None:
                found.setdefault(fid, set()).add(int(pid))
    return found


def all_cannot_links(session: Session) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    query = select(FaceDecision.face_id, FaceDecision.person_id).where(
        FaceDecision.kind == DecisionKind.cannot_link.value
    )
    for fid, pid in session.execute(query):
        if pid is not None:
            found.setdefault(fid, set()).add(int(pid))
    return found


def decisions_of_media(session: Session, media_store_id: int) -> list[FaceDecision]:
    query = (
        select(FaceDecision)
        .where(FaceDecision.media_store_id == media_store_id)
        .order_by(FaceDecision.id)
    )
    return list(session.scalars(query))


def delete_decisions_of_media(session: Session, media_store_id: int) -> None:
    session.execute(delete(FaceDecision).where(FaceDecision.media_store_id == media_store_id))


def retarget_decisions(session: Session, source: int, target: int) -> None:
    """After a merge: the decisions about ``source`` now speak of ``target``."""
    session.execute(
        update(FaceDecision)
        .where(FaceDecision.person_id == source)
        .values(person_id=target)
        .execution_options(synchronize_session=False)
    )
