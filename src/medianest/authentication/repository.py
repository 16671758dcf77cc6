"""Every SQL statement of the authentication service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from medianest.authentication.models import ApiKey, RefreshToken, User


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def username_taken(session: Session, username: str, except_id: int | None = None) -> bool:
    """Usernames are unique regardless of case (``Admin`` cannot impersonate ``admin``)."""
    stmt = select(User.id).where(func.lower(User.username) == username.lower())
    if except_id is not None:
        stmt = stmt.where(User.id != except_id)
    return session.scalars(stmt.limit(1)).first() is not None


def list_users(session: Session, skip: int, limit: int) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id).offset(skip).limit(limit)).all()


def count_active_admins(session: Session, except_id: int | None = None) -> int:
    """Counted from locked rows, so two admins cannot remove each other at the same time."""
    stmt = select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True))
    if except_id is not None:
        stmt = stmt.where(User.id != except_id)
    return len(session.scalars(stmt.with_for_update()).all())


def add(session: Session, obj: User | RefreshToken | ApiKey) -> None:
    session.add(obj)
    session.flush()


def delete_user(session: Session, user: User) -> None:
    session.execute(delete(RefreshToken).where(RefreshToken.user_id == user.id))
    session.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
    session.delete(user)
    session.flush()


def get_refresh_for_update(session: Session, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return session.scalars(stmt).one_or_none()


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def delete_expired_tokens(session: Session, user_id: int, now: datetime) -> None:
    """Expired tokens can no longer be used (nor reused): keep the table small."""
    session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.expires_at < now)
    )


def revoke_user_tokens(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def list_api_keys(session: Session, user_id: int) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id)
    ).all()


def count_api_keys(session: Session, user_id: int) -> int:
    stmt = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
    return int(session.scalar(stmt) or 0)


def get_api_key(session: Session, user_id: int, key_id: int) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    return session.scalars(stmt).one_or_none()


def get_api_key_by_hash(session: Session, secret_hash: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.secret_hash == secret_hash)).one_or_none()


def delete_api_key(session: Session, key: ApiKey) -> None:
    session.delete(key)
    session.flush()


def ping(session: Session) -> None:
    session.execute(text("SELECT 1"))
