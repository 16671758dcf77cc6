"""web timeline: entities.thumbhash (the placeholder painted before a thumbnail) and the
covering index that makes month buckets an index-only scan

Revision ID: 0002_web
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_web"
down_revision: str | None = "0003_store_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing rows stay NULL (the web app paints a neutral colour for them); the version table
# gets the column too, since sqlalchemy-continuum copies every column into it.
TABLES = ("entities", "entities_version")


TIMELINE_INDEX = ["is_deleted", "is_collection", "create_date", "id"]


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("thumbhash", sa.String(length=64), nullable=True))
    op.create_index("ix_entities_timeline", "entities", TIMELINE_INDEX)


def downgrade() -> None:
    op.drop_index("ix_entities_timeline", table_name="entities")
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("thumbhash")
