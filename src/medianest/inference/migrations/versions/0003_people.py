"""people: persons, face assignment, face decisions, the people lock

Revision ID: 0003_people
Revises: 0002
Create Date: 2026-11-30 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_people"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("name_key", sa.String(length=200), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("cover_face_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_name_key"), ["name_key"], unique=False)

    op.create_table(
        "face_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("face_id", sa.String(length=36), nullable=False),
        sa.Column("media_store_id", sa.BigInteger(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_decisions")),
    )
    with op.batch_alter_table("face_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_decisions_face_id"), ["face_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_face_decisions_media_store_id"), ["media_store_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_face_decisions_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "people_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_lock")),
    )
    op.execute("INSERT INTO people_lock (id, updated_at) VALUES (1, 0)")

    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("assigned_by", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("grouped_at", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_faces_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_faces_grouped_at"), ["grouped_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faces_grouped_at"))
        batch_op.drop_index(batch_op.f("ix_faces_person_id"))
        batch_op.drop_column("grouped_at")
        batch_op.drop_column("assigned_by")
        batch_op.drop_column("person_id")
    op.drop_table("people_lock")
    with op.batch_alter_table("face_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_decisions_person_id"))
        batch_op.drop_index(batch_op.f("ix_face_decisions_media_store_id"))
        batch_op.drop_index(batch_op.f("ix_face_decisions_face_id"))
    op.drop_table("face_decisions")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_name_key"))
    op.drop_table("persons")
