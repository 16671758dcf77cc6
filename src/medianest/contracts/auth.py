"""Bodies of the authentication service: users, tokens, keys, permissions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from medianest.contracts.ids import MAX_ID
from medianest.contracts.permissions import Permission

USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"
Username = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=USERNAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
RefreshTokenStr = Annotated[str, StringConstraints(min_length=1, max_length=512)]


def _unique_sorted(perms: list[Permission]) -> list[Permission]:
    return sorted(set(perms))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Strict):
    username: Username
    password: Password
    is_admin: bool = False
    is_active: bool = True
    permissions: list[Permission] = Field(default_factory=list, max_length=64)

    _perms = field_validator("permissions")(_unique_sorted)


class UserUpdate(_Strict):
    """Only the fields sent change; ``permissions`` replaces the whole set."""

    username: Username | None = None
    password: Password | None = None
    is_admin: bool | None = None
    is_active: bool | None = None
    permissions: list[Permission] | None = Field(default=None, max_length=64)

    @field_validator("permissions")
    @classmethod
    def _dedupe(cls, perms: list[Permission] | None) -> list[Permission] | None:
        return None if perms is None else _unique_sorted(perms)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(ge=1, le=MAX_ID)
    username: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    permissions: list[str]

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite returns naive datetimes; every stored datetime is UTC
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class PasswordChange(_Strict):
    current_password: Annotated[str, StringConstraints(max_length=256)]
    new_password: Password


class PasswordReset(_Strict):
    new_password: Password


class LoginForm(BaseModel):
    """The OAuth2 password form (``scope``, ``client_id`` and the like are accepted, unused)."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    grant_type: Annotated[str, StringConstraints(pattern="^password$")] | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    refresh_token: str
    expires_in: int


class RefreshRequest(_Strict):
    refresh_token: RefreshTokenStr


class PublicKeyResponse(BaseModel):
    public_key: str
    algorithm: Literal["ES256"] = "ES256"
    kid: str


class Jwks(BaseModel):
    keys: list[dict[str, str]]


class PermissionInfo(BaseModel):
    name: str
    description: str


class Health(BaseModel):
    status: str
    database: str
