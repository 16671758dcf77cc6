"""Fixtures shared by every service's tests: databases on SQLite and PostgreSQL, and tokens.

Every test that takes ``db_factory`` runs once per backend: SQLite always, PostgreSQL when
``MEDIANEST_TEST_POSTGRES_URL`` is set (``make test`` sets it). Schemas are built with Alembic
once per session into a template, then copied per test (a file copy on SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so each test gets a fresh, migrated database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, text

from medianest.common.db import run_migrations

POSTGRES_URL = os.environ.get("MEDIANEST_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
TEST_ISSUER = "medianest-auth"
TEST_AUDIENCE = "medianest"
# The ONNX graph of EfficientNet-Lite0 is exported once (tens of seconds) and then reused: share
# it between tests and runs (workers started by tests inherit this) instead of per data dir.
os.environ.setdefault(
    "INFERENCE_MODEL_DIR", str(Path(tempfile.gettempdir()) / f"medianest-test-models-{os.getuid()}")
)


def _pg_admin_url() -> str:
    assert POSTGRES_URL
    return POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_url_for(db: str) -> str:
    base = _pg_admin_url().rsplit("/", 1)[0]
    return f"{base}/{db}"


def _pg_exec(sql: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


class _Templates:
    """Migrated template databases, one per (backend, migrations folder), made once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[tuple[str, str], str] = {}

    def get(self, backend: str, migrations: Path) -> str:
        key = (backend, str(migrations))
        if key not in self.made:
            name = f"mntpl_{migrations.parent.name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            if backend == "sqlite":
                path = self.root / f"{name}.db"
                run_migrations(migrations, f"sqlite:///{path}")
                self.made[key] = str(path)
            else:
                _pg_exec(f'CREATE DATABASE "{name}"')
                run_migrations(migrations, _pg_url_for(name))
                self.made[key] = name
        return self.made[key]

    def drop_all(self) -> None:
        for (backend, _), name in self.made.items():
            if backend == "postgresql":
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.drop_all()


@dataclass
class DatabaseFactory:
    """Hands out fresh migrated database URLs for one backend within one test."""

    backend: str
    tmp_path: Path
    templates: _Templates
    created: list[str]

    def url(self, migrations: Path) -> str:
        template = self.templates.get(self.backend, migrations)
        name = f"mnt_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            path = self.tmp_path / f"{name}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return _pg_url_for(name)

    def empty_url(self) -> str:
        """A fresh database with no tables (for testing migrations themselves)."""
        name = f"mnt_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / (name + '.db')}"
        _pg_exec(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return _pg_url_for(name)


@pytest.fixture(params=BACKENDS)
def db_factory(
    request: pytest.FixtureRequest, tmp_path: Path, _db_templates: _Templates
) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(request.param, tmp_path, _db_templates, [])
    yield factory
    for name in factory.created:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("MEDIANEST_TEST_POSTGRES_URL is not set (make test sets it)")
    return POSTGRES_URL


# ---------------------------------------------------------------- tokens


@dataclass
class TokenMinter:
    """Signs ES256 tokens like the auth service does, with a key pair made for the test session."""

    private_key: ec.EllipticCurvePrivateKey
    public_key_path: Path
    kid: str = "test-key"

    def __call__(
        self,
        sub: int | str | None = 1,
        permissions: list[str] | None = None,
        is_admin: bool = False,
        ttl: int = 600,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "permissions": permissions or [],
            "is_admin": is_admin,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "iss": TEST_ISSUER,
            "aud": TEST_AUDIENCE,
            "typ": "access",
        }
        if sub is not None:
            payload["sub"] = str(sub)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(
            payload,
            self.private_key,
            algorithm="ES256",
            headers={"kid": self.kid, **(headers or {})},
        )

    def header(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(**kwargs)}"}

    def admin(self) -> dict[str, str]:
        return self.header(sub=1, is_admin=True)


@pytest.fixture(scope="session")
def token_minter(tmp_path_factory: pytest.TempPathFactory) -> TokenMinter:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("keys") / "public.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return TokenMinter(key, path)


MintToken = Callable[..., str]
