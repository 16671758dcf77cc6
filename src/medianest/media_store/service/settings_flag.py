"""The read-auth switch: stored in the database (shared by processes), cached briefly."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from medianest.common.db import Database
from medianest.media_store import repository as repo

READ_AUTH_KEY = "read_auth_enabled"


def read_auth_enabled(session: Session) -> bool:
    return repo.config_value(session, READ_AUTH_KEY) == "true"


def set_read_auth(session: Session, enabled: bool) -> None:
    repo.set_config_value(session, READ_AUTH_KEY, "true" if enabled else "false")


class ReadAuthFlag:
    """Zero-arg callable for ``app.state.read_auth_required``; re-reads after ``ttl_s``."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._value = False
        self._expires = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self._expires:
            return self._value
        with self._lock, self._db.read_sessions() as session:
            self._value = read_auth_enabled(session)
            self._expires = time.monotonic() + self._ttl
        return self._value

    def invalidate(self) -> None:
        self._expires = 0.0
