"""A private PostgreSQL cluster for fault injection: its own data dir, port and socket dir, so a
test can stop and restart it without touching the shared server on 127.0.0.1:5432.

PostgreSQL refuses to run as root, so when the tests run as root every ``initdb`` / ``pg_ctl`` call
runs as the ``postgres`` OS user, in a directory under /tmp that user owns (pytest's ``tmp_path``
is not traversable by it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.inference.standin import free_port

PG_BIN = Path(os.environ.get("MEDIANEST_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


class PrivatePostgres:
    """One cluster listening on 127.0.0.1:``port`` only, trust auth, fsync off (tests only)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.logfile = root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        self.sockets.mkdir()
        _own(self.sockets)
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        status = self._pg_ctl_status()
        return status.returncode == 0

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""

    def _pg_ctl_status(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*_as_postgres(), str(PG_BIN / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stdout}\n{done.stderr}\n{self.log()}"
            )


def _as_postgres() -> list[str]:
    return ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def skip_reason() -> str | None:
    """Why a private cluster cannot run here, or None."""
    missing = [t for t in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / t).exists()]
    if missing:
        return (
            f"PostgreSQL binaries not found in {PG_BIN} ({', '.join(missing)}); "
            "scripts/install-system-deps.sh installs them (or set MEDIANEST_TEST_PG_BIN)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root and there is no {PG_USER!r} OS user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (needed to run PostgreSQL as postgres)"
    return None


def _start_on_a_free_port(cluster: PrivatePostgres, attempts: int = 3) -> None:
    """Start; if the port was taken since ``free_port`` chose it, try another one."""
    for attempt in range(attempts):
        try:
            cluster.start()
            return
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            cluster.port = free_port()


@contextmanager
def private_postgres(databases: tuple[str, ...] = ()) -> Iterator[PrivatePostgres]:
    """A started private cluster with ``databases`` created; stopped and deleted on exit."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="medianest-pg-", dir="/tmp"))
    root.chmod(0o700)
    _own(root)
    cluster = PrivatePostgres(root, free_port())
    try:
        cluster.initdb()
        _start_on_a_free_port(cluster)
        for name in databases:
            cluster.create_database(name)
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running:
            with suppress(RuntimeError):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
