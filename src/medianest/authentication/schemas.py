"""Request and response bodies of the authentication service.

The classes live in ``medianest.contracts.auth``; this module keeps the old import path.
"""

from medianest.contracts.auth import (
    USERNAME_PATTERN,
    Health,
    Jwks,
    LoginForm,
    Password,
    PasswordChange,
    PasswordReset,
    PermissionInfo,
    PublicKeyResponse,
    RefreshRequest,
    RefreshTokenStr,
    TokenResponse,
    UserCreate,
    Username,
    UserRead,
    UserUpdate,
)

__all__ = [
    "USERNAME_PATTERN",
    "Health",
    "Jwks",
    "LoginForm",
    "Password",
    "PasswordChange",
    "PasswordReset",
    "PermissionInfo",
    "PublicKeyResponse",
    "RefreshRequest",
    "RefreshTokenStr",
    "TokenResponse",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "Username",
]
