"""entities.thumbhash: the ThumbHash placeholder the web timeline paints before a thumbnail

Revision ID: 0002_web
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_web"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing rows stay NULL (the web app paints a neutral colour for them); the version table
# gets the column too, since sqlalchemy-continuum copies every column into it.
TABLES = ("entities", "entities_version")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("thumbhash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("thumbhash")
