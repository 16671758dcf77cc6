"""SQLAlchemy tables of the inference service (the ML models live in ``ml/``, not here).

Timestamps are epoch milliseconds (UTC) computed in Python, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, text
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
        Index("ix_jobs_claim", "status", "priority", "created_at"),
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


class MediaLabel(Base):
    """An ImageNet label of a media item with its probability (replaced on every re-run)."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    media_store_id: Mapped[int] = mapped_column(BigInteger, index=True)
    label: Mapped[str] = mapped_column(String(128), index=True)
    probability: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))
