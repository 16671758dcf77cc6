"""SQLAlchemy tables of the inference service (the ML models live in ``ml/``, not here).

Timestamps are epoch milliseconds (UTC) computed in Python, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    desc,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from medianest.common.db import make_metadata
from medianest.contracts.inference import JobStatus as JobStatus  # re-exported (old import path)

ACTIVE_STATUSES = (JobStatus.pending.value, JobStatus.processing.value)
FINISHED_STATUSES = (JobStatus.completed.value, JobStatus.error.value, JobStatus.cancelled.value)
_ACTIVE_SQL = text("status IN ('pending', 'processing')")


class Base(DeclarativeBase):
    metadata = make_metadata()


class Job(Base):
    """One unit of work on one media item; the table is the queue and the source of truth."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(64))
    media_store_id: Mapped[int] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_expiries: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[int] = mapped_column(BigInteger)
    lease_expires_at: Mapped[int | None] = mapped_column(BigInteger)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # The claim's ORDER BY over pending jobs only, read in index order (no sort of every
        # pending job per claim). Alembic cannot compare a DESC index on SQLite (it reflects the
        # column without DESC), so SQLite gets the twin below, created WITH DESC by the
        # migration but declared without it; PostgreSQL has both (the twin is small: partial).
        Index(
            "ix_jobs_ready",
            desc("priority"),
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_jobs_ready_sqlite",
            "priority",
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_jobs_lease", "status", "lease_expires_at"),
        Index("ix_jobs_media", "media_store_id", "task_type"),
        Index("ix_jobs_task_status", "task_type", "status"),
        Index(
            "uq_jobs_active_media_task",
            "media_store_id",
            "task_type",
            unique=True,
            sqlite_where=_ACTIVE_SQL,
            postgresql_where=_ACTIVE_SQL,
        ),
    )


class JobAttempt(Base):
    """Audit: one row per claim, closed with its outcome (completed / failed / expired / ...)."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(16))


class WorkerSeen(Base):
    """Workers by id with their last claim or heartbeat (for /admin/stats)."""

    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_seen_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)


class FollowerCursor(Base):
    """Position in the store's change feed, written in the same transaction as its enqueues."""

    __tablename__ = "follower_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class MediaState(Base):
    """The md5 last queued per media item, so an update without new content queues nothing."""

    __tablename__ = "media_state"

    media_store_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    md5: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class DetectedFace(Base):
    """A face found in a media item; bbox in pixels of the original image as displayed."""

    __tablename__ = "faces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    media_store_id: Mapped[int] = mapped_column(BigInteger, index=True)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    landmarks: Mapped[list[list[float]]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    embedding_model: Mapped[str | None] = mapped_column(String(64))
    """Set when the face has a vector in ``face_embeddings`` (by this model)."""
    created_at: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    """The person the face belongs to (None: unassigned); see :class:`Person`."""
    assigned_by: Mapped[str | None] = mapped_column(String(8))
    """``auto`` (grouping) or ``user`` (a hand-made move; never moved again automatically)."""
    grouped_at: Mapped[int | None] = mapped_column(BigInteger, index=True)
    """When grouping last looked at this face; None: waiting for the next grouping job."""


class MediaLabel(Base):
    """An ImageNet label of a media item with its probability (replaced on every re-run)."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    media_store_id: Mapped[int] = mapped_column(BigInteger, index=True)
    label: Mapped[str] = mapped_column(String(128), index=True)
    probability: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))


class AssignedBy(StrEnum):
    auto = "auto"
    user = "user"


class DecisionKind(StrEnum):
    cannot_link = "cannot_link"
    """The face was removed from ``person_id`` by the user: never put back in it."""
    assigned = "assigned"
    """The user put the face in ``person_id`` (or in nobody when None): it never moves again."""
    deleted = "deleted"
    """The user deleted the face as a false detection: dropped whenever the media is analysed."""


class Person(Base):
    """A group of faces of one individual, found by grouping or made by the user."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    """The name folded for search: lowercase, accents stripped, spaces collapsed."""
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    cover_face_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class FaceDecision(Base):
    """A user's decision about a face, kept across re-analysis and full re-grouping.

    Keyed by the face's media and box, not only its id: face ids derive from the detector
    version and the exact box, so after a re-analysis (new detector, edited file) the decision
    is re-attached to the new face whose box overlaps the old one (IoU >= 0.5) in that media.
    """

    __tablename__ = "face_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    face_id: Mapped[str] = mapped_column(String(36), index=True)
    media_store_id: Mapped[int] = mapped_column(BigInteger, index=True)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class PeopleLock(Base):
    """One row, locked (``UPDATE``) by every change to faces or persons: grouping, storing faces
    and the user's edits run one at a time, in the same order, on SQLite and PostgreSQL."""

    __tablename__ = "people_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)
