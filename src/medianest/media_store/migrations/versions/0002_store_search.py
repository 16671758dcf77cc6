"""text search index (FTS5 trigram / pg_trgm) and an album timeline index

Revision ID: 0002_store_search
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from medianest.media_store import search_index

revision: str = "0002_store_search"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _execute(sql: str) -> None:
    op.execute(sql)


def upgrade() -> None:
    op.create_index(
        "ix_entities_parent_create_date",
        "entities",
        ["parent_id", "is_deleted", "create_date", "id"],
    )
    if op.get_bind().dialect.name == "sqlite":
        search_index.create_sqlite(_execute)  # the 'rebuild' backfills existing rows
    else:
        search_index.create_postgresql(_execute)  # the index build covers existing rows


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        search_index.drop_sqlite(_execute)
    else:
        search_index.drop_postgresql(_execute)
    op.drop_index("ix_entities_parent_create_date", table_name="entities")
