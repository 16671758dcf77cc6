"""Every statement on the ``faces`` and ``labels`` tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from medianest.inference.models import DetectedFace, Job, MediaLabel
from medianest.inference.repository.queue import now_ms


def faces_of(session: Session, media_store_id: int) -> list[DetectedFace]:
    query = (
        select(DetectedFace)
        .where(DetectedFace.media_store_id == media_store_id)
        .order_by(DetectedFace.confidence.desc(), DetectedFace.id)
    )
    return list(session.scalars(query))


def get_face(session: Session, face_id: str) -> DetectedFace | None:
    return session.get(DetectedFace, face_id)


def faces_by_id(session: Session, face_ids: Sequence[str]) -> dict[str, DetectedFace]:
    if not face_ids:
        return {}
    rows = session.scalars(select(DetectedFace).where(DetectedFace.id.in_(list(face_ids))))
    return {row.id: row for row in rows}


def replace_faces(session: Session, media_store_id: int, rows: Sequence[DetectedFace]) -> None:
    """Delete the media's faces, then insert ``rows`` (a re-run never duplicates)."""
    delete_faces(session, media_store_id)
    now = now_ms()
    for row in rows:
        row.created_at = now
        session.add(row)
    session.flush()


def delete_faces(session: Session, media_store_id: int) -> None:
    session.execute(delete(DetectedFace).where(DetectedFace.media_store_id == media_store_id))


def labels_of(session: Session, media_store_id: int) -> list[MediaLabel]:
    query = (
        select(MediaLabel)
        .where(MediaLabel.media_store_id == media_store_id)
        .order_by(MediaLabel.probability.desc())
    )
    return list(session.scalars(query))


def replace_labels(session: Session, media_store_id: int, rows: Sequence[MediaLabel]) -> None:
    delete_labels(session, media_store_id)
    session.add_all(rows)
    session.flush()


def delete_labels(session: Session, media_store_id: int) -> None:
    session.execute(delete(MediaLabel).where(MediaLabel.media_store_id == media_store_id))


def label_candidates(session: Session, words: Sequence[str]) -> list[tuple[int, str, float]]:
    """(media_store_id, label, probability) of labels containing any of ``words`` (lowercase)."""
    lowered = func.lower(MediaLabel.label)
    match = or_(*(lowered.contains(word, autoescape=True) for word in words))
    query = select(MediaLabel.media_store_id, MediaLabel.label, MediaLabel.probability)
    return [(int(m), str(label), float(p)) for m, label, p in session.execute(query.where(match))]


def labels_for_media(session: Session, media_ids: Sequence[int]) -> dict[int, list[MediaLabel]]:
    found: dict[int, list[MediaLabel]] = {m: [] for m in media_ids}
    if not media_ids:
        return found
    query = (
        select(MediaLabel)
        .where(MediaLabel.media_store_id.in_(list(media_ids)))
        .order_by(MediaLabel.probability.desc())
    )
    for row in session.scalars(query):
        found[row.media_store_id].append(row)
    return found


def jobs_of(session: Session, media_store_id: int) -> list[Job]:
    query = select(Job).where(Job.media_store_id == media_store_id).order_by(Job.created_at)
    return list(session.scalars(query))
