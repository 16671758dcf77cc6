"""Bodies of the authentication service: users, tokens, API keys, permissions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from medianest.contracts.health import HealthAuth
from medianest.contracts.ids import MAX_ID
from medianest.contracts.permissions import PERMISSION_PATTERN


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored datetime is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"
Username = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=USERNAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
RefreshTokenStr = Annotated[str, StringConstraints(min_length=1, max_length=512)]
# any well-formed name can be granted (the seed's rule); the known ones: GET /auth/permissions
PermissionName = Annotated[str, StringConstraints(pattern=PERMISSION_PATTERN)]


def _unique_sorted(perms: list[str]) -> list[str]:
    return sorted(set(perms))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Strict):
    username: Username
    password: Password
    is_admin: bool = False
    is_active: bool = True
    permissions: list[PermissionName] = Field(default_factory=list, max_length=64)

    _perms = field_validator("permissions")(_unique_sorted)


class UserUpdate(_Strict):
    """Only the fields sent change; ``permissions`` replaces the whole set."""

    username: Username | None = None
    password: Password | None = None
    is_admin: bool | None = None
    is_active: bool | None = None
    permissions: list[PermissionName] | None = Field(default=None, max_length=64)

    @field_validator("permissions")
    @classmethod
    def _dedupe(cls, perms: list[str] | None) -> list[str] | None:
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
        return as_utc(value)


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


KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ApiKeyCreate(_Strict):
    """A new API key: a subset of the caller's permissions, and optionally an expiry (either
    ``expires_at`` or ``ttl_s``). ``is_admin`` (administrators only) lets the key use admin
    routes while its owner is still an administrator."""

    name: KeyName
    permissions: list[PermissionName] = Field(default_factory=list, max_length=64)
    is_admin: bool = False
    expires_at: datetime | None = None
    ttl_s: int | None = Field(default=None, ge=60, le=10 * 365 * 86_400)

    _perms = field_validator("permissions")(_unique_sorted)

    @model_validator(mode="after")
    def _check(self) -> ApiKeyCreate:
        if self.expires_at is not None and self.ttl_s is not None:
            raise ValueError("give expires_at or ttl_s, not both")
        if not self.permissions and not self.is_admin:
            raise ValueError("a key needs at least one permission (or is_admin)")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a time zone (e.g. 2027-01-01T00:00:00Z)")
        return self


class ApiKeyRead(BaseModel):
    """A key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str
    permissions: list[str]
    is_admin: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @field_validator("created_at", "expires_at", "last_used_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


class ApiKeyCreated(ApiKeyRead):
    """The new key; ``key`` is shown this once and cannot be read again."""

    key: str


class ApiKeyToken(BaseModel):
    """A short-lived access token for an API key (no refresh token: exchange the key again)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Health(HealthAuth):
    status: str
    database: str
