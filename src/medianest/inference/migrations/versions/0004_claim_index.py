"""claim index: pending jobs in claim order (partial index replaces ix_jobs_claim)

Revision ID: perf_0003
Revises: 0002
Create Date: 2026-11-30 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "perf_0003"
down_revision: str | None = "0003_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claim")
        if not sqlite:
            batch_op.create_index(
                "ix_jobs_ready",
                [sa.desc("priority"), "created_at", "id"],
                unique=False,
                postgresql_where=_PENDING,
            )
        # on SQLite the one the claim uses (DESC, which SQLite's reflection does not show)
        batch_op.create_index(
            "ix_jobs_ready_sqlite",
            [sa.desc("priority") if sqlite else "priority", "created_at", "id"],
            unique=False,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_ready_sqlite")
        if not sqlite:
            batch_op.drop_index("ix_jobs_ready")
        batch_op.create_index("ix_jobs_claim", ["status", "priority", "created_at"], unique=False)
