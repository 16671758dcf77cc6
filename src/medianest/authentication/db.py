"""The authentication database: where its migrations live and how to run them."""

from __future__ import annotations

from pathlib import Path

from medianest.authentication.config import Settings
from medianest.common.db import run_migrations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def migrate(url: str) -> None:
    run_migrations(MIGRATIONS_DIR, url)


def migrate_from_env() -> None:
    migrate(Settings().db_url())
