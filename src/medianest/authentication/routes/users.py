"""User accounts: the caller's own, and admin management."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from medianest.authentication.deps import ActiveAdmin, ReadUsers, Users
from medianest.authentication.models import User
from medianest.authentication.schemas import (
    PasswordChange,
    PasswordReset,
    UserCreate,
    UserRead,
    UserUpdate,
)
from medianest.common.openapi import errors, link, path_ref
from medianest.common.security import CurrentUser

router = APIRouter(prefix="/users", tags=["users"])
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/me")
def read_me(user: CurrentUser, users: ReadUsers) -> UserRead:
    """The caller's account."""
    return UserRead.model_validate(users.current(user.id))


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 429))
def change_my_password(body: PasswordChange, user: CurrentUser, users: Users) -> None:
    """Change the caller's password (needs the current one); ends all of their sessions."""
    users.change_own_password(user.id, body.current_password, body.new_password)


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "links": {
                "ReadUser": link(
                    path_ref("/users/{user_id}"), "the created user", user_id="$response.body#/id"
                )
            }
        },
        **errors(409),
    },
)
def create_user(body: UserCreate, _: ActiveAdmin, users: Users) -> UserRead:
    """Create a user (admin)."""
    return UserRead.model_validate(users.create(body))


@router.get("/")
def list_users(
    _: ActiveAdmin,
    users: Users,
    skip: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[UserRead]:
    """List users by id (admin)."""
    found: Sequence[User] = users.page(skip, limit)
    return [UserRead.model_validate(u) for u in found]


@router.get("/{user_id}", responses=errors(404))
def read_user(user_id: UserId, _: ActiveAdmin, users: Users) -> UserRead:
    """Read one user (admin)."""
    return UserRead.model_validate(users.get(user_id))


@router.put("/{user_id}", responses=errors(404, 409))
def update_user(user_id: UserId, body: UserUpdate, admin: ActiveAdmin, users: Users) -> UserRead:
    """Update a user (admin); sent fields change, ``permissions`` replaces the set."""
    return UserRead.model_validate(users.update(admin.id, user_id, body))


@router.put("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def reset_password(user_id: UserId, body: PasswordReset, _: ActiveAdmin, users: Users) -> None:
    """Set another user's password (admin); ends all of their sessions."""
    users.reset_password(user_id, body.new_password)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
def delete_user(user_id: UserId, admin: ActiveAdmin, users: Users) -> None:
    """Delete a user and their sessions (admin)."""
    users.delete(admin.id, user_id)
