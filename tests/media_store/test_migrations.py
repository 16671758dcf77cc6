"""The Alembic migration builds exactly the models' schema (incl. version tables) on both DBs."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from medianest.common.db import create_db_engine
from medianest.media_store import search_index
from medianest.media_store.db import migrate
from medianest.media_store.models import Base
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.media_store]


def _not_text_index(name: str | None, type_: str, _parents: object) -> bool:
    """The text index lives outside the models (FTS5 tables, a GIN index): see search_index."""
    if type_ == "table":
        return not search_index.is_index_table(name)
    return not (type_ == "index" and name == search_index.PG_INDEX)


def test_migration_matches_models(db_factory: DatabaseFactory) -> None:
    url = db_factory.empty_url()
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_name": _not_text_index}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert {"entities", "entities_version", "transaction", "changes", "config"} <= tables
    finally:
        engine.dispose()


def test_migrating_twice_is_a_no_op(db_factory: DatabaseFactory) -> None:
    url = db_factory.empty_url()
    migrate(url)
    migrate(url)
