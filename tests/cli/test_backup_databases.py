"""Database snapshots on both backends: SQLite's online backup API and ``pg_dump``/``pg_restore``
give back every row, and a snapshot taken while another connection writes is consistent."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from medianest.cli.backup import databases
from medianest.cli.backup.databases import DatabaseRef
from medianest.common.db import normalise_url
from medianest.inference.db import MIGRATIONS_DIR
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.integration]


def _rows(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT * FROM jobs ORDER BY created_at"))]
    finally:
        engine.dispose()


def _insert(url: str, first: int, count: int) -> None:
    engine = create_engine(normalise_url(url))
    try:
        for i in range(first, first + count):
            with engine.begin() as conn:  # one transaction per row, like live traffic
                conn.execute(
                    text(
                        "INSERT INTO jobs (id, task_type, media_store_id, priority, status, "
                        "attempts, max_attempts, lease_expiries, run_after, progress, "
                        "cancel_requested, result, created_at, updated_at) VALUES (:id, 'noop', "
                        ":m, 5, 'completed', 1, 3, 0, 0, 100, false, :r, :m, :m)"
                    ),
                    {"id": f"job-{i:06d}", "m": i, "r": json.dumps({"n": i})},
                )
    finally:
        engine.dispose()


def test_snapshot_while_writing_restores_a_consistent_prefix(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    source = db_factory.url(MIGRATIONS_DIR)
    _insert(source, 0, 50)
    writer = threading.Thread(target=_insert, args=(source, 50, 200))
    writer.start()
    snapshot = tmp_path / "snapshot.dump"
    databases.dump(DatabaseRef("inference", source), snapshot)
    writer.join()
    target = db_factory.empty_url()
    ref = DatabaseRef("inference", target)
    assert databases.is_empty(ref)
    databases.restore(ref, snapshot)
    assert not databases.is_empty(ref)
    restored = _rows(target)
    live = _rows(source)
    assert len(restored) >= 50
    assert restored == live[: len(restored)]  # a prefix of the committed rows, none torn


def test_a_failing_pg_restore_names_the_database_without_its_password(tmp_path: Path) -> None:
    ref = DatabaseRef("inference", "postgresql://u:secret-pw@127.0.0.1:1/nothing")
    with pytest.raises(databases.DatabaseError) as info:
        databases.dump(ref, tmp_path / "x.dump")
    assert "inference" in str(info.value)
    assert "secret-pw" not in str(info.value)
