"""The body of every service's Alembic ``env.py`` (online and offline modes)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from medianest.common.db import create_db_engine, is_sqlite


def run_env(metadata: MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set for the migration")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(url)
    with engine.connect() as connection:
        if not is_sqlite(url):
            # Several processes (uvicorn --workers, up) may migrate at once: one at a time.
            connection.exec_driver_sql("SELECT pg_advisory_lock(7215321)")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=is_sqlite(url),  # SQLite needs batch mode for ALTER TABLE
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
