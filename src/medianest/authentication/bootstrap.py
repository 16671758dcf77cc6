"""Host-side operations used at start-up, by ``medianest up`` and by the ``medianest user`` CLI.

Each public function takes the auth ``Settings``, migrates the database first, and works on it
directly (no HTTP): ``ensure_admin``, ``ensure_service_account``, ``issue_access_token``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medianest.authentication import repository as repo
from medianest.authentication.config import Settings
from medianest.authentication.context import keys_for, passwords_for
from medianest.authentication.db import migrate
from medianest.authentication.passwords import Passwords, generate_password
from medianest.authentication.schemas import UserCreate
from medianest.authentication.service import UserService
from medianest.authentication.throttle import LoginThrottle
from medianest.authentication.tokens import issue_access
from medianest.common.db import Database
from medianest.common.permissions import check_names

log = logging.getLogger("medianest.authentication.bootstrap")


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """The auth database at head, closed on exit."""
    migrate(settings.db_url())
    db = Database(settings.db_url())
    try:
        yield db
    finally:
        db.dispose()


def write_secret_file(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by the owner only (mode 0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")


def _admin_password(settings: Settings) -> tuple[str, Path | None]:
    if settings.admin_password is not None:
        password = settings.admin_password.get_secret_value()
        if len(password) < 8 or password.lower() == settings.admin_username.lower():
            raise RuntimeError("AUTH_ADMIN_PASSWORD is too weak (8+ chars, not the username)")
        return password, None
    password = generate_password()
    path = settings.admin_password_file()
    write_secret_file(path, password)
    return password, path


def bootstrap_admin(db: Database, settings: Settings, passwords: Passwords) -> Path | None:
    """Create the admin account if missing; return the generated password's file, if any."""
    with db.sessions.begin() as session:
        if repo.get_user_by_username(session, settings.admin_username) is not None:
            existing = settings.admin_password_file()
            return existing if existing.exists() else None
    password, path = _admin_password(settings)
    data = UserCreate(username=settings.admin_username, password=password, is_admin=True)
    try:
        with db.sessions.begin() as session:
            UserService(session, passwords).create(data)
    except IntegrityError:  # another process created it first
        return None
    if path is not None:
        log.warning(
            "generated the admin password; it is in the file named here",
            extra={"username": data.username, "file": str(path)},
        )
    else:
        log.info("created the admin user", extra={"username": data.username})
    return path


def ensure_admin(settings: Settings) -> tuple[str, Path | None]:
    """Make sure the admin account exists: (username, file holding a generated password)."""
    with open_database(settings) as db:
        path = bootstrap_admin(db, settings, passwords_for(settings))
    return settings.admin_username, path


def _upsert_account(
    session: Session, passwords: Passwords, username: str, perms: list[str], password: str
) -> None:
    users = UserService(session, passwords, LoginThrottle())
    user = repo.get_user_by_username(session, username)
    if user is None:
        users.create(UserCreate(username=username, password=password, permissions=perms))
        return
    user.is_active = True
    users.set_permissions(user, perms)
    users.set_password(user, password)


def ensure_service_account(settings: Settings, username: str, permissions: list[str]) -> str:
    """Create or reset a machine account with exactly ``permissions``; return its new password."""
    password = generate_password()
    perms = check_names(permissions)  # ValueError for a malformed name
    with open_database(settings) as db, db.sessions.begin() as session:
        _upsert_account(session, passwords_for(settings), username, perms, password)
    return password


def issue_access_token(settings: Settings, username: str) -> str:
    """Mint an access token for an active user, signed with the service's key pair."""
    keys = keys_for(settings)
    with open_database(settings) as db, db.read_sessions.begin() as session:
        user = repo.get_user_by_username(session, username)
        if user is None or not user.is_active:
            raise LookupError(f"no active user named {username!r}")
        return issue_access(keys, settings, user)
