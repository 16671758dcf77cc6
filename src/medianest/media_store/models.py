"""SQLAlchemy models of the media store.

sqlalchemy-continuum must be activated (``make_versioned``) before any versioned class is declared,
otherwise versioning is silently off; ``configure_mappers()`` at the end builds the version classes.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column
from sqlalchemy_continuum import make_versioned, version_class

from medianest.common.db import make_metadata

make_versioned(user_cls=None)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = make_metadata()


class Entity(Base):
    """A media item or a collection; every committed change is a version."""

    __tablename__ = "entities"
    __versioned__: dict[str, object] = {}
    __table_args__ = (
        sa.Index("uq_entities_md5", "md5", unique=True),
        sa.Index("ix_entities_sha256", "sha256"),
        sa.Index("ix_entities_parent_id", "parent_id", "is_deleted", "id"),
        # an album's timeline (capture date order, cursor pages) without sorting the album
        sa.Index("ix_entities_parent_create_date", "parent_id", "is_deleted", "create_date", "id"),
        sa.Index("ix_entities_deleted_id", "is_deleted", "id"),
        sa.Index("ix_entities_deleted_create_date", "is_deleted", "create_date", "id"),
        sa.Index("ix_entities_deleted_added_date", "is_deleted", "added_date", "id"),
        sa.Index("ix_entities_type", "type", "is_deleted", "id"),
        sa.Index("ix_entities_mime_type", "mime_type", "is_deleted", "id"),
        # the web timeline: month counts are an index-only scan, a month a range of it
        sa.Index("ix_entities_timeline", "is_deleted", "is_collection", "create_date", "id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    is_collection: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    label: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.Text)
    parent_id: Mapped[int | None] = mapped_column(sa.Integer, sa.ForeignKey("entities.id"))
    added_date: Mapped[int] = mapped_column(sa.BigInteger)
    updated_date: Mapped[int] = mapped_column(sa.BigInteger)
    create_date: Mapped[int | None] = mapped_column(sa.BigInteger)
    added_by: Mapped[int | None] = mapped_column(sa.Integer)
    updated_by: Mapped[int | None] = mapped_column(sa.Integer)
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    width: Mapped[int | None] = mapped_column(sa.Integer)
    duration: Mapped[float | None] = mapped_column(sa.Float)
    mime_type: Mapped[str | None] = mapped_column(sa.String(100))
    type: Mapped[str | None] = mapped_column(sa.String(16))
    extension: Mapped[str | None] = mapped_column(sa.String(16))
    md5: Mapped[str | None] = mapped_column(sa.String(32))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    file_path: Mapped[str | None] = mapped_column(sa.String(255))
    original_filename: Mapped[str | None] = mapped_column(sa.String(255))
    create_date_source: Mapped[str | None] = mapped_column(sa.String(64))
    camera_make: Mapped[str | None] = mapped_column(sa.String(255))
    camera_model: Mapped[str | None] = mapped_column(sa.String(255))
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    orientation: Mapped[int | None] = mapped_column(sa.Integer)
    phash: Mapped[str | None] = mapped_column(sa.String(16))
    thumbhash: Mapped[str | None] = mapped_column(sa.String(64))  # base64 ThumbHash placeholder
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class MediaFile(Base):
    """What is known about one stored content (keyed by sha256): shared by entities and versions."""

    __tablename__ = "media_files"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(sa.String(32))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    mime_type: Mapped[str] = mapped_column(sa.String(100))
    thumbnail_mime: Mapped[str | None] = mapped_column(sa.String(32))
    metadata_json: Mapped[str] = mapped_column(sa.Text)
    added_date: Mapped[int] = mapped_column(sa.BigInteger)


class Change(Base):
    """The change feed: one row per committed entity change, in commit order of ``cursor``."""

    __tablename__ = "changes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    cursor: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(sa.Integer)
    op: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(sa.Integer)
    md5: Mapped[str | None] = mapped_column(sa.String(32))
    is_collection: Mapped[bool] = mapped_column(sa.Boolean)
    type: Mapped[str | None] = mapped_column(sa.String(16))
    at: Mapped[int] = mapped_column(sa.BigInteger)


class ConfigItem(Base):
    """Service-wide settings changed at run time (shared by every process)."""

    __tablename__ = "config"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class AuditRun(Base):
    """One integrity audit: every stored original re-hashed against its name (its sha256)."""

    __tablename__ = "audit_runs"
    __table_args__ = (sa.Index("ix_audit_runs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    trigger: Mapped[str] = mapped_column(sa.String(16))
    requested_by: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    started_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    finished_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    heartbeat_at: Mapped[int] = mapped_column(sa.BigInteger)
    files_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    files_checked: Mapped[int] = mapped_column(sa.Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bytes_checked: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    missing: Mapped[int] = mapped_column(sa.Integer, default=0)
    corrupt: Mapped[int] = mapped_column(sa.Integer, default=0)
    orphans: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)


class AuditFinding(Base):
    """A problem an audit found: a missing, corrupt or orphaned original."""

    __tablename__ = "audit_findings"
    __table_args__ = (sa.Index("ix_audit_findings_run_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("audit_runs.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    sha256: Mapped[str] = mapped_column(sa.String(255))
    path: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    actual_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    entity_ids: Mapped[str] = mapped_column(sa.Text, default="[]")


class FileIntegrity(Base):
    """Originals that failed their last check: never served until repaired or re-verified."""

    __tablename__ = "file_integrity"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    actual_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    detected_at: Mapped[int] = mapped_column(sa.BigInteger)


configure_mappers()

EntityVersion = version_class(Entity)
# The label order puts NULLs first on every backend. PostgreSQL's ascending indexes sort them last
# unless told; SQLite's sort them first and reject "NULLS FIRST" in an index, so there the
# migration creates the plain (is_deleted, label, id) index under the same name.
sa.Index(
    "ix_entities_deleted_label",
    Entity.is_deleted,
    Entity.label.asc().nulls_first(),
    Entity.id,
).ddl_if(dialect="postgresql")

# Reference checks: "is this content still used by any version?"
sa.Index("ix_entities_version_sha256", EntityVersion.__table__.c.sha256)
