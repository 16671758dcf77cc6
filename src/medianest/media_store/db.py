"""Database wiring of the media store: Alembic folder and migration helpers."""

from __future__ import annotations

from pathlib import Path

from medianest.common.db import run_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(url: str) -> None:
    """Bring the media store database at ``url`` to the newest schema."""
    run_migrations(MIGRATIONS_DIR, url)


def migrate_from_env() -> None:
    from medianest.media_store.config import Settings

    migrate(Settings().db_url())
