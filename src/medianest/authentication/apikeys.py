"""API key rules: creation within the owner's permissions, listing, revocation, and the
exchange of a key for a short-lived access token. No FastAPI here.

A key is ``mnk_`` + 43 base64url characters (256 random bits). Only its SHA-256 is stored (see
``common.api_keys.key_digest`` for why a fast hash is right for random secrets). What a key may do
is decided at every exchange, from the key's scopes and its owner's *current* account: deleting,
deactivating or demoting the owner shrinks every key at the next exchange.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from medianest.authentication import repository as repo
from medianest.authentication.config import Settings
from medianest.authentication.keys import KeyPair
from medianest.authentication.models import ApiKey, User, as_utc, utcnow
from medianest.authentication.schemas import ApiKeyCreate, ApiKeyToken
from medianest.common.api_keys import key_digest, well_formed
from medianest.common.db import Database
from medianest.common.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from medianest.common.permissions import grants, intersect
from medianest.common.security import API_KEY_PREFIX, TokenUser

PREFIX_LENGTH = 12  # "mnk_" + 8 characters: enough to tell keys apart, far too few to guess
INVALID_KEY = "invalid API key"


def new_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def create(self, caller: TokenUser, data: ApiKeyCreate) -> tuple[ApiKey, str]:
        """A new key for the caller; returns the row and the secret (shown once)."""
        if caller.api_key_id is not None:
            raise Forbidden("an API key cannot create API keys: log in with a password")
        owner = self._active_owner(caller.id)
        self._check_grantable(owner, data)
        if repo.count_api_keys(self.session, owner.id) >= self.settings.api_keys_per_user:
            raise Conflict(f"at most {self.settings.api_keys_per_user} API keys per user")
        raw = new_secret()
        key = ApiKey(
            user_id=owner.id,
            name=data.name,
            prefix=raw[:PREFIX_LENGTH],
            secret_hash=key_digest(raw),
            permissions=list(data.permissions),
            is_admin=data.is_admin,
            expires_at=self._expiry(data),
        )
        repo.add(self.session, key)
        return key, raw

    def _active_owner(self, user_id: int) -> User:
        user = repo.get_user(self.session, user_id)
        if user is None or not user.is_active:
            raise Unauthorized("account no longer active")
        return user

    @staticmethod
    def _check_grantable(owner: User, data: ApiKeyCreate) -> None:
        if data.is_admin and not owner.is_admin:
            raise Forbidden("only administrators can create administrator keys")
        if owner.is_admin:
            return
        missing = [p for p in data.permissions if not grants(owner.permissions or [], p)]
        if missing:
            raise Forbidden(f"you cannot grant permissions you do not hold: {', '.join(missing)}")

    @staticmethod
    def _expiry(data: ApiKeyCreate) -> datetime | None:
        now = utcnow()
        if data.ttl_s is not None:
            return now + timedelta(seconds=data.ttl_s)
        if data.expires_at is not None and as_utc(data.expires_at) <= now:
            raise Unprocessable("expires_at is in the past")
        return data.expires_at

    def list(self, user_id: int) -> Sequence[ApiKey]:
        return repo.list_api_keys(self.session, self._active_owner(user_id).id)

    def list_for_admin(self, user_id: int) -> Sequence[ApiKey]:
        if repo.get_user(self.session, user_id) is None:
            raise NotFound("user not found")
        return repo.list_api_keys(self.session, user_id)

    def revoke_own(self, user_id: int, key_id: int) -> None:
        self.revoke(self._active_owner(user_id).id, key_id)

    def revoke(self, user_id: int, key_id: int) -> None:
        key = repo.get_api_key(self.session, user_id, key_id)
        if key is None:
            raise NotFound("API key not found")
        repo.delete_api_key(self.session, key)

    def exchange(self, keys: KeyPair, raw: str) -> ApiKeyToken:
        """A short-lived access token for a valid key: its scopes ∩ the owner's permissions."""
        if not well_formed(raw):
            raise Unauthorized("malformed API key")
        key = repo.get_api_key_by_hash(self.session, key_digest(raw))
        if key is None:
            raise Unauthorized(INVALID_KEY)
        now = utcnow()
        if key.expires_at is not None and as_utc(key.expires_at) <= now:
            raise Unauthorized("API key expired")
        owner = repo.get_user(self.session, key.user_id)
        if owner is None or not owner.is_active:
            raise Unauthorized("the API key's account is no longer active")
        key.last_used_at = now
        self.session.flush()
        token, ttl = self._sign(keys, key, owner)
        return ApiKeyToken(access_token=token, expires_in=ttl)

    def _sign(self, keys: KeyPair, key: ApiKey, owner: User) -> tuple[str, int]:
        issued = int(time.time())
        exp = issued + self.settings.key_token_ttl_s()
        if key.expires_at is not None:  # a token never outlives its key
            exp = min(exp, int(as_utc(key.expires_at).timestamp()))
        owner_perms = ["*"] if owner.is_admin else (owner.permissions or [])
        claims = {
            "sub": str(owner.id),
            "username": owner.username,
            "permissions": intersect(key.permissions or [], owner_perms),
            "is_admin": bool(key.is_admin and owner.is_admin),
            "api_key_id": key.id,
            "iat": issued,
            "exp": exp,
            "jti": uuid.uuid4().hex,
            "iss": self.settings.token_issuer,
            "aud": self.settings.token_audience,
            "typ": "access",
        }
        return keys.sign(claims), max(exp - issued, 0)


class LocalExchange:
    """The auth service's own exchange (no HTTP): used when a key calls the auth service."""

    def __init__(self, db: Database, settings: Settings, keys: KeyPair) -> None:
        self.db = db
        self.settings = settings
        self.keys = keys

    def __call__(self, raw: str) -> str:
        with self.db.sessions.begin() as session:
            return ApiKeyService(session, self.settings).exchange(self.keys, raw).access_token
