"""Login, access tokens and rotating refresh tokens.

These operations own their transactions (a ``Database``, not a request session) for two reasons:
the slow password check runs outside any write transaction (on SQLite a write transaction holds
the database lock), and a detected refresh-token reuse must commit the family's revocation even
though the request then fails with 401.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from medianest.authentication import repository as repo
from medianest.authentication.config import Settings
from medianest.authentication.context import AuthContext
from medianest.authentication.keys import KeyPair
from medianest.authentication.models import RefreshToken, User, as_utc, utcnow
from medianest.authentication.schemas import TokenResponse
from medianest.common.db import Database
from medianest.common.errors import Unauthorized

log = logging.getLogger("medianest.authentication.tokens")
BAD_CREDENTIALS = "incorrect username or password"


def hash_refresh_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def access_claims(settings: Settings, user: User) -> dict[str, object]:
    now = int(time.time())
    return {
        "sub": str(user.id),
        "username": user.username,
        "permissions": sorted(user.permissions or []),
        "is_admin": user.is_admin,
        "iat": now,
        "exp": now + settings.access_token_ttl_s,
        "jti": uuid.uuid4().hex,
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "typ": "access",
    }


def issue_access(keys: KeyPair, settings: Settings, user: User) -> str:
    return keys.sign(access_claims(settings, user))


class TokenService:
    def __init__(self, db: Database, ctx: AuthContext) -> None:
        self.db = db
        self.ctx = ctx

    def login(self, username: str, password: str, address: str | None) -> TokenResponse:
        """Check the password (throttled, constant cost for unknown users) and open a session."""
        self.ctx.throttle.check(username, address)
        with self.db.read_sessions.begin() as session:
            user = repo.get_user_by_username(session, username)
            password_hash = user.password_hash if user else None
        ok = (
            self.ctx.passwords.verify(password_hash, password)
            if password_hash
            else self.ctx.passwords.verify_dummy(password)
        )
        if not ok:
            self.ctx.throttle.record_failure(username, address)
            log.info("login failed", extra={"username": username, "address": address})
            raise Unauthorized(BAD_CREDENTIALS)
        self.ctx.throttle.reset(username)
        with self.db.sessions.begin() as session:
            fresh = repo.get_user_by_username(session, username)
            if fresh is None or fresh.password_hash != password_hash:  # changed meanwhile
                raise Unauthorized(BAD_CREDENTIALS)
            if not fresh.is_active:
                raise Unauthorized("account disabled")
            repo.delete_expired_tokens(session, fresh.id, utcnow())
            return self._issue(session, fresh, uuid.uuid4().hex)[0]

    def refresh(self, raw: str) -> TokenResponse:
        """Rotate a refresh token; reusing a rotated one revokes its whole family."""
        with self.db.sessions.begin() as session:
            result = self._rotate(session, hash_refresh_token(raw))
        if isinstance(result, str):
            raise Unauthorized(result)
        return result

    def _rotate(self, session: Session, token_hash: str) -> TokenResponse | str:
        row = repo.get_refresh_for_update(session, token_hash)
        if row is None:
            return "invalid refresh token"
        now = utcnow()
        if row.revoked_at is not None:
            if row.replaced_by is not None:
                log.warning("refresh token reuse: family revoked", extra={"user_id": row.user_id})
                repo.revoke_family(session, row.family_id, now)
                return "refresh token reuse detected; session revoked"
            return "refresh token revoked"
        if as_utc(row.expires_at) <= now:
            return "refresh token expired"
        user = repo.get_user(session, row.user_id)
        if user is None or not user.is_active:
            repo.revoke_family(session, row.family_id, now)
            return "account no longer active"
        pair, new_id = self._issue(session, user, row.family_id)
        row.revoked_at = now
        row.replaced_by = new_id
        return pair

    def logout(self, raw: str) -> None:
        """Revoke the session (token family) the refresh token belongs to; unknown is a no-op."""
        with self.db.sessions.begin() as session:
            row = repo.get_refresh_for_update(session, hash_refresh_token(raw))
            if row is not None:
                repo.revoke_family(session, row.family_id, utcnow())

    def _issue(self, session: Session, user: User, family_id: str) -> tuple[TokenResponse, int]:
        raw = secrets.token_urlsafe(32)
        now = utcnow()
        row = RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_refresh_token(raw),
            issued_at=now,
            expires_at=now + timedelta(seconds=self.ctx.settings.refresh_token_ttl_s),
        )
        repo.add(session, row)
        response = TokenResponse(
            access_token=issue_access(self.ctx.keys, self.ctx.settings, user),
            refresh_token=raw,
            expires_in=self.ctx.settings.access_token_ttl_s,
        )
        return response, row.id
