"""The inference database: Alembic migrations inside this package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from medianest.common.db import Database, run_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(url: str) -> None:
    run_migrations(MIGRATIONS_DIR, url)


def migrate_from_env() -> None:
    from medianest.inference.config import Settings

    migrate(Settings().db_url())


@contextmanager
def transaction(db: Database) -> Iterator[Session]:
    """One short write transaction outside a request (claims, reaper, follower)."""
    yield from db.session()
