"""The text index behind ``search_query``: substring search in label, description, filename.

SQLite: an FTS5 table with the trigram tokenizer (a quoted phrase is a substring match of 3+
characters, case folded) over the ``entities`` table as external content, kept in step by
triggers, so every insert, update and delete updates it in the same transaction. PostgreSQL:
a GIN index of pg_trgm trigrams that serves ``ILIKE '%needle%'`` directly; an index is
transactional by nature.

The DDL lives here, not only in the migration, because a later SQLite migration that rebuilds
``entities`` (Alembic batch mode copies and drops the table) drops its triggers and must call
``create_sqlite_triggers`` again.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

MIN_CHARS = 3  # the trigram tokenizer cannot match shorter needles
FTS_TABLE = "entities_fts"
COLUMNS = ("label", "description", "original_filename")
PG_INDEX = "ix_entities_search_trgm"

_cols = ", ".join(COLUMNS)
_new = ", ".join(f"new.{c}" for c in COLUMNS)
_old = ", ".join(f"old.{c}" for c in COLUMNS)
_DELETE_OLD = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_cols}) VALUES ('delete', old.id, {_old});"
)
_INSERT_NEW = f"INSERT INTO {FTS_TABLE}(rowid, {_cols}) VALUES (new.id, {_new});"
SQLITE_TRIGGERS = {
    "entities_fts_insert": f"AFTER INSERT ON entities BEGIN {_INSERT_NEW} END",
    "entities_fts_delete": f"AFTER DELETE ON entities BEGIN {_DELETE_OLD} END",
    "entities_fts_update": (
        f"AFTER UPDATE OF {_cols} ON entities BEGIN {_DELETE_OLD} {_INSERT_NEW} END"
    ),
}


def create_sqlite(execute: Callable[[str], object]) -> None:
    """The FTS5 table, its triggers, and a rebuild from the rows already there (backfill)."""
    execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_cols}, "
        "content='entities', content_rowid='id', tokenize='trigram')"
    )
    create_sqlite_triggers(execute)
    execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def create_sqlite_triggers(execute: Callable[[str], object]) -> None:
    for name, body in SQLITE_TRIGGERS.items():
        execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def drop_sqlite(execute: Callable[[str], object]) -> None:
    for name in SQLITE_TRIGGERS:
        execute(f"DROP TRIGGER IF EXISTS {name}")
    execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def create_postgresql(execute: Callable[[str], object]) -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it
    execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    ops = ", ".join(f"{c} gin_trgm_ops" for c in COLUMNS)
    execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON entities USING gin ({ops})")


def drop_postgresql(execute: Callable[[str], object]) -> None:
    execute(f"DROP INDEX IF EXISTS {PG_INDEX}")


def sqlite_match(needle: str) -> sa.Select[tuple[int]]:
    """Ids of entities containing ``needle`` (3+ characters) in an indexed column."""
    phrase = '"' + needle.replace('"', '""') + '"'
    fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer))
    match = sa.text(f"{FTS_TABLE} MATCH :fts_phrase").bindparams(fts_phrase=phrase)
    return sa.select(fts.c.rowid).where(match)


def sqlite_has_more_than(session: Session, needle: str, limit: int) -> bool:
    """Whether more than ``limit`` entities contain ``needle`` (stops counting after limit+1)."""
    matches = sqlite_match(needle).limit(limit + 1).subquery()
    found = session.scalar(sa.select(sa.func.count()).select_from(matches)) or 0
    return int(found) > limit


def is_index_table(name: str | None) -> bool:
    """Tables the FTS5 module owns (the schema drift check skips them)."""
    return bool(name) and str(name).startswith(FTS_TABLE)
