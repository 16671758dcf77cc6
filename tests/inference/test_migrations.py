"""The inference schema: Alembic head matches the SQLAlchemy tables (drift check), both DBs."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from medianest.common.db import normalise_url
from medianest.inference.db import MIGRATIONS_DIR, migrate
from medianest.inference.models import Base
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.inference]


def test_migrations_match_tables(db_factory: DatabaseFactory) -> None:
    engine = create_engine(normalise_url(db_factory.url(MIGRATIONS_DIR)))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_migrate_builds_every_table_on_an_empty_database(db_factory: DatabaseFactory) -> None:
    url = db_factory.empty_url()
    migrate(url)
    migrate(url)  # idempotent
    engine = create_engine(normalise_url(url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
