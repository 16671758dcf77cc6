"""User rules: creation, updates, passwords, and the last-admin guard. No FastAPI here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from medianest.authentication import repository as repo
from medianest.authentication.models import User, utcnow
from medianest.authentication.passwords import Passwords
from medianest.authentication.schemas import UserCreate, UserUpdate
from medianest.authentication.throttle import LoginThrottle
from medianest.common.errors import Conflict, Forbidden, NotFound, Unauthorized


class UserService:
    def __init__(
        self, session: Session, passwords: Passwords, throttle: LoginThrottle | None = None
    ) -> None:
        self.session = session
        self.passwords = passwords
        self.throttle = throttle or LoginThrottle()

    def get(self, user_id: int) -> User:
        user = repo.get_user(self.session, user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    def get_by_username(self, username: str) -> User:
        user = repo.get_user_by_username(self.session, username)
        if user is None:
            raise NotFound(f"user not found: {username}")
        return user

    def current(self, user_id: int) -> User:
        """The caller's account; a deleted or deactivated account no longer authenticates."""
        user = repo.get_user(self.session, user_id)
        if user is None or not user.is_active:
            raise Unauthorized("account no longer active")
        return user

    def require_admin(self, user_id: int) -> None:
        """Admin tokens stay valid until expiry; the account must still be an active admin."""
        if not self.current(user_id).is_admin:
            raise Forbidden("administrator only")

    def page(self, skip: int, limit: int) -> Sequence[User]:
        return repo.list_users(self.session, skip, limit)

    def create(self, data: UserCreate) -> User:
        password_hash = self.passwords.hash(data.password)  # before the write lock
        if repo.username_taken(self.session, data.username):
            raise Conflict(f"username already exists: {data.username}")
        user = User(
            username=data.username,
            password_hash=password_hash,
            is_admin=data.is_admin,
            is_active=data.is_active,
            permissions=[str(p) for p in data.permissions],
        )
        repo.add(self.session, user)
        return user

    def update(self, actor_id: int | None, user_id: int, data: UserUpdate) -> User:
        new_hash = self.passwords.hash(data.password) if data.password else None
        user = self.get(user_id)
        self._guard_admin_change(actor_id, user, data)
        if data.username is not None and data.username != user.username:
            if repo.username_taken(self.session, data.username, except_id=user.id):
                raise Conflict(f"username already exists: {data.username}")
            user.username = data.username
        self._apply_flags(user, data)
        if new_hash is not None or data.is_active is False:
            repo.revoke_user_tokens(self.session, user.id, utcnow())
        if new_hash is not None:
            user.password_hash = new_hash
        self.session.flush()
        return user

    @staticmethod
    def _apply_flags(user: User, data: UserUpdate) -> None:
        if data.is_admin is not None:
            user.is_admin = data.is_admin
        if data.is_active is not None:
            user.is_active = data.is_active
        if data.permissions is not None:
            user.permissions = [str(p) for p in data.permissions]

    def _guard_admin_change(self, actor_id: int | None, user: User, data: UserUpdate) -> None:
        if actor_id == user.id and data.is_active is False:
            raise Conflict("you cannot deactivate your own account")
        loses_admin = data.is_admin is False or data.is_active is False
        if user.is_admin and user.is_active and loses_admin:
            self._guard_last_admin(user)

    def _guard_last_admin(self, user: User) -> None:
        if repo.count_active_admins(self.session, except_id=user.id) == 0:
            raise Conflict("the last active administrator cannot be removed")

    def delete(self, actor_id: int | None, user_id: int) -> None:
        user = self.get(user_id)
        if actor_id == user.id:
            raise Conflict("you cannot delete your own account")
        if user.is_admin and user.is_active:
            self._guard_last_admin(user)
        repo.delete_user(self.session, user)

    def change_own_password(self, user_id: int, current: str, new: str) -> None:
        user = self.current(user_id)
        self.throttle.check(user.username, None)
        if not self.passwords.verify(user.password_hash, current):
            self.throttle.record_failure(user.username, None)
            raise Forbidden("current password is incorrect")
        self.set_password(user, new)

    def set_password(self, user: User, new: str) -> None:
        """Replace the password and end every session (refresh token) of the user."""
        user.password_hash = self.passwords.hash(new)
        repo.revoke_user_tokens(self.session, user.id, utcnow())
        self.session.flush()

    def reset_password(self, user_id: int, new: str) -> None:
        self.set_password(self.get(user_id), new)

    def set_permissions(self, user: User, permissions: list[str]) -> None:
        user.permissions = sorted({str(p) for p in permissions})
        self.session.flush()


def check_database(session: Session) -> None:
    """Raise if the database cannot answer a trivial query."""
    repo.ping(session)
