"""Consistent copies of the live databases: SQLite through its online backup API, PostgreSQL
through ``pg_dump`` (one consistent snapshot per database), and their restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class DatabaseError(RuntimeError):
    """A dump or restore tool failed; the message says which and why."""


@dataclass(frozen=True)
class DatabaseRef:
    """One service's database, from its SQLAlchemy URL."""

    service: str
    url: str

    @property
    def kind(self) -> str:
        backend = make_url(self.url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise DatabaseError(f"{self.service}: unsupported database {backend!r}")
        return backend

    @property
    def sqlite_path(self) -> Path:
        database = make_url(self.url).database
        if not database:
            raise DatabaseError(f"{self.service}: an in-memory SQLite database cannot be backed up")
        return Path(database)

    @property
    def libpq_url(self) -> str:
        """The URL for pg_dump/pg_restore (no SQLAlchemy driver suffix)."""
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def describe(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def dump(ref: DatabaseRef, target: Path) -> None:
    """Write a consistent snapshot of the live database to ``target``."""
    if ref.kind == "sqlite":
        _sqlite_backup(ref.sqlite_path, target)
    else:
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(target), ref.libpq_url], ref
        )


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise DatabaseError(f"no database at {source}")
    target.unlink(missing_ok=True)
    # the online backup API copies page by page under SQLite's own locking: a consistent
    # snapshot while the services keep writing (WAL mode), without stopping them
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def restore(ref: DatabaseRef, dump_file: Path) -> None:
    """Replace the (stopped) database with the snapshot in ``dump_file``."""
    if ref.kind == "sqlite":
        path = ref.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):  # stale WAL pages would replay over the copy
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        temp = path.with_name(path.name + ".restoring")
        shutil.copyfile(dump_file, temp)
        os.replace(temp, path)
        return
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", "--dbname", ref.libpq_url, str(dump_file)],
        ref,
    )  # fmt: skip


def is_empty(ref: DatabaseRef) -> bool:
    """True when the target database holds no tables yet (nothing a restore would replace)."""
    if ref.kind == "sqlite":
        return not ref.sqlite_path.exists() or ref.sqlite_path.stat().st_size == 0
    out = _run(["psql", "-Atc", "select count(*) from pg_tables where schemaname='public'",
                ref.libpq_url], ref)  # fmt: skip
    return out.strip() == "0"


def _run(cmd: list[str], ref: DatabaseRef) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    except FileNotFoundError as exc:
        raise DatabaseError(f"{cmd[0]} is not installed (needed for {ref.describe()})") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip().replace(ref.libpq_url, ref.describe())[-2000:]
        raise DatabaseError(f"{cmd[0]} failed for {ref.service} ({ref.describe()}): {detail}")
    return proc.stdout
