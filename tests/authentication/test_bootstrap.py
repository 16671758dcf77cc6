"""Start-up: migrations on a fresh database, the key pair, the admin account, host helpers."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import jwt
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medianest.authentication.app import create_app
from medianest.authentication.bootstrap import (
    ensure_admin,
    ensure_service_account,
    issue_access_token,
)
from medianest.authentication.config import Settings
from medianest.authentication.db import MIGRATIONS_DIR, migrate
from medianest.authentication.models import Base
from medianest.authentication.passwords import Passwords
from medianest.common.db import create_db_engine
from tests.authentication.conftest import ADMIN_PASSWORD, bearer, login, make_settings
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.auth]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fresh_empty_database_is_migrated_at_start(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "home", db_factory.empty_url())
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health == {"status": "ok", "database": "ok", "auth": "enabled", "warning": None}
        login(client, "admin", ADMIN_PASSWORD)


def test_default_sqlite_database_in_home_needs_no_setup(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, admin_password=SecretStr(ADMIN_PASSWORD))
    with TestClient(create_app(settings)) as client:
        login(client, "admin", ADMIN_PASSWORD)
    assert (tmp_path / "authentication.db").exists()


def test_migrations_match_the_models(db_factory: DatabaseFactory) -> None:
    url = db_factory.empty_url()
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_generated_admin_password_is_written_0600_and_never_logged(
    db_factory: DatabaseFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "home", db_factory.url(MIGRATIONS_DIR), admin_password=None)
    caplog.set_level(logging.INFO)
    with TestClient(create_app(settings)) as client:
        secret_file = settings.admin_password_file()
        password = secret_file.read_text().strip()
        assert _mode(secret_file) == 0o600
        assert len(password) >= 24
        assert password != "admin"
        login(client, "admin", password)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert str(secret_file) in logged
    assert password not in logged


def test_existing_admin_is_left_alone_on_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)):
        pass
    changed = settings.model_copy(update={"admin_password": SecretStr("another-password")})
    with TestClient(create_app(changed)) as client:
        login(client, "admin", ADMIN_PASSWORD)


@pytest.mark.parametrize("weak", ["admin", "short", "ADMIN"])
def test_weak_admin_password_refuses_to_start(
    db_factory: DatabaseFactory, tmp_path: Path, weak: str
) -> None:
    settings = make_settings(
        tmp_path / "home", db_factory.url(MIGRATIONS_DIR), admin_password=SecretStr(weak)
    )
    with pytest.raises(RuntimeError, match="too weak"), TestClient(create_app(settings)):
        pass


def test_custom_admin_username(db_factory: DatabaseFactory, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "home", db_factory.url(MIGRATIONS_DIR), admin_username="root-user"
    )
    with TestClient(create_app(settings)) as client:
        token = login(client, "root-user", ADMIN_PASSWORD)["access_token"]
        assert client.get("/users/me", headers=bearer(token)).json()["is_admin"] is True


def test_key_pair_is_created_0600_and_reused(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        kid = client.get("/auth/public-key").json()["kid"]
        token = login(client, "admin", ADMIN_PASSWORD)["access_token"]
    assert _mode(settings.private_key_file()) == 0o600
    with TestClient(create_app(settings)) as client:
        assert client.get("/auth/public-key").json()["kid"] == kid
        assert client.get("/users/me", headers=bearer(token)).status_code == 200


def test_key_pair_from_configured_paths(settings: Settings, tmp_path: Path) -> None:
    configured = settings.model_copy(
        update={
            "private_key_path": tmp_path / "elsewhere" / "signing.pem",
            "public_key_path": tmp_path / "elsewhere" / "verify.pem",
        }
    )
    with TestClient(create_app(configured)) as client:
        pem = client.get("/auth/public-key").json()["public_key"]
    assert (tmp_path / "elsewhere" / "verify.pem").read_text() == pem
    assert not (settings.home / "keys").exists()


def test_foreign_public_key_file_is_not_overwritten(
    settings: Settings, tmp_path: Path, token_minter: object
) -> None:
    foreign = tmp_path / "foreign.pem"
    original = Path(token_minter.public_key_path).read_text()  # type: ignore[attr-defined]
    foreign.write_text(original)
    with TestClient(create_app(settings.model_copy(update={"public_key_path": foreign}))) as c:
        assert c.get("/auth/public-key").json()["public_key"] != original
        login(c, "admin", ADMIN_PASSWORD)
    assert foreign.read_text() == original


@pytest.mark.unit
def test_production_argon2_defaults_make_argon2id_hashes() -> None:
    settings = Settings()
    passwords = Passwords(
        settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
    )
    hashed = passwords.hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(hashed, "correct horse battery staple")
    assert not passwords.verify(hashed, "wrong")
    assert not passwords.verify("not-a-hash", "wrong")


def test_ensure_admin_reports_the_password_file(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "home", db_factory.empty_url(), admin_password=None)
    username, path = ensure_admin(settings)
    assert username == "admin"
    assert path == settings.admin_password_file()
    assert ensure_admin(settings) == ("admin", path)  # idempotent


def test_service_account_is_created_then_reset(settings: Settings) -> None:
    first = ensure_service_account(settings, "worker", ["ai_inference_worker"])
    second = ensure_service_account(settings, "worker", ["ai_inference_worker", "media_store_read"])
    assert first != second
    with TestClient(create_app(settings)) as client:
        resp = client.post("/auth/token", data={"username": "worker", "password": first})
        assert resp.status_code == 401
        token = login(client, "worker", second)["access_token"]
        me = client.get("/users/me", headers=bearer(token)).json()
    assert me["permissions"] == ["ai_inference_worker", "media_store_read"]
    assert me["is_admin"] is False


def test_service_account_rejects_malformed_permissions(settings: Settings) -> None:
    with pytest.raises(ValueError, match="root!"):
        ensure_service_account(settings, "worker", ["root!"])


def test_issue_access_token_from_the_host(settings: Settings) -> None:
    ensure_service_account(settings, "worker", ["ai_inference_worker"])
    token = issue_access_token(settings, "worker")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["username"] == "worker"
    assert claims["permissions"] == ["ai_inference_worker"]
    with TestClient(create_app(settings)) as client:
        assert client.get("/users/me", headers=bearer(token)).status_code == 200
    with pytest.raises(LookupError):
        issue_access_token(settings, "nobody")


def test_stale_default_public_key_file_is_replaced(settings: Settings) -> None:
    public = settings.public_key_file()
    public.parent.mkdir(parents=True)
    public.write_text("stale")
    with TestClient(create_app(settings)) as client:
        pem = client.get("/auth/public-key").json()["public_key"]
    assert public.read_text() == pem
