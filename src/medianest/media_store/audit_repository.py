"""SQL of the integrity audit and the storage report (kept apart from the entity repository)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from medianest.media_store.models import (
    AuditFinding,
    AuditRun,
    Entity,
    EntityVersion,
    FileIntegrity,
)

ACTIVE = ("queued", "running")


@dataclass
class Content:
    """One stored content as the rows see it."""

    size: int
    live: bool = False  # used by a non-trashed entity
    current: bool = False  # used by an entity (trashed or not)
    entity_ids: set[int] = field(default_factory=set)


def referenced_content(session: Session) -> dict[str, Content]:
    """Every sha256 an entity or a version row uses, with its size and users."""
    found: dict[str, Content] = {}
    current = sa.select(Entity.sha256, Entity.file_size, Entity.id, Entity.is_deleted).where(
        Entity.sha256.is_not(None)
    )
    for sha, size, entity_id, deleted in session.execute(current):
        item = found.setdefault(sha, Content(int(size or 0)))
        item.current = True
        item.live = item.live or not deleted
        item.entity_ids.add(int(entity_id))
    old = sa.select(EntityVersion.sha256, EntityVersion.file_size, EntityVersion.id).where(
        EntityVersion.sha256.is_not(None)
    )
    for sha, size, entity_id in session.execute(old.distinct()):
        found.setdefault(sha, Content(int(size or 0))).entity_ids.add(int(entity_id))
    return found


def entity_counts(session: Session) -> tuple[int, int, int]:
    """(entities, collections, trashed entities)."""
    stmt = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((Entity.is_collection, 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((Entity.is_deleted, 1), else_=0)), 0),
    )
    total, collections, trashed = session.execute(stmt).one()
    return int(total), int(collections), int(trashed)


def active_run(session: Session) -> AuditRun | None:
    stmt = sa.select(AuditRun).where(AuditRun.status.in_(ACTIVE)).order_by(AuditRun.id)
    return session.scalars(stmt.limit(1)).first()


def get_run(session: Session, run_id: int) -> AuditRun | None:
    return session.get(AuditRun, run_id)


def latest_run(session: Session) -> AuditRun | None:
    return session.scalars(sa.select(AuditRun).order_by(AuditRun.id.desc()).limit(1)).first()


def add_run(session: Session, run: AuditRun) -> AuditRun:
    session.add(run)
    session.flush()
    return run


def update_run(session: Session, run_id: int, **values: object) -> None:
    session.execute(sa.update(AuditRun).where(AuditRun.id == run_id).values(**values))


def add_findings(session: Session, findings: Sequence[AuditFinding]) -> None:
    session.add_all(findings)


def findings(session: Session, run_id: int, limit: int) -> list[AuditFinding]:
    stmt = sa.select(AuditFinding).where(AuditFinding.run_id == run_id).order_by(AuditFinding.id)
    return list(session.scalars(stmt.limit(limit)))


def finding_count(session: Session, run_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(AuditFinding.run_id == run_id)
    return int(session.scalar(stmt) or 0)


def mark(session: Session, mark: FileIntegrity) -> None:
    session.merge(mark)


def clear_marks(session: Session, shas: Iterable[str]) -> int:
    stmt = sa.delete(FileIntegrity).where(FileIntegrity.sha256.in_(list(shas)))
    return int(getattr(session.execute(stmt), "rowcount", 0) or 0)


def marked_shas(session: Session) -> set[str]:
    return set(session.scalars(sa.select(FileIntegrity.sha256)))


def integrity_mark(session: Session, sha256: str) -> FileIntegrity | None:
    return session.get(FileIntegrity, sha256)


def entity_ids_json(ids: Iterable[int]) -> str:
    return json.dumps(sorted(ids)[:100])
