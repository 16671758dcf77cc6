"""Authentication service endpoints (port 8002)."""

from __future__ import annotations

from typing import Any

from medianest.client._base import Call, clean_params, parse_as, parse_json, parse_none
from medianest.client.models import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    Jwks,
    PasswordChange,
    PasswordReset,
    PermissionRead,
    PublicKeyRead,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)


def token(username: str, password: str) -> Call[TokenResponse]:
    form = {"username": username, "password": password, "grant_type": "password"}
    return Call("POST", "auth", "/auth/token", parse_as(TokenResponse), data=form, auth=False)


def refresh(refresh_token: str) -> Call[TokenResponse]:
    body = RefreshRequest(refresh_token=refresh_token).model_dump()
    return Call("POST", "auth", "/auth/refresh", parse_as(TokenResponse), json=body, auth=False)


def logout(refresh_token: str, access_token: str | None) -> Call[None]:
    """Sends the bearer as is: a logout must never rotate the token it is revoking."""
    body = RefreshRequest(refresh_token=refresh_token).model_dump()
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
    return Call("POST", "auth", "/auth/logout", parse_none, json=body, auth=False, headers=headers)


def me() -> Call[UserRead]:
    return Call("GET", "auth", "/users/me", parse_as(UserRead))


def list_users(skip: int = 0, limit: int = 100) -> Call[list[UserRead]]:
    params = clean_params(skip=skip, limit=limit)
    return Call("GET", "auth", "/users/", parse_as(list[UserRead]), params=params)


def get_user(user_id: int) -> Call[UserRead]:
    return Call("GET", "auth", f"/users/{user_id}", parse_as(UserRead))


def create_user(user: UserCreate) -> Call[UserRead]:
    body = user.model_dump(mode="json")
    return Call("POST", "auth", "/users/", parse_as(UserRead), json=body)


def update_user(user_id: int, changes: UserUpdate) -> Call[UserRead]:
    body = changes.model_dump(mode="json", exclude_unset=True)
    return Call("PUT", "auth", f"/users/{user_id}", parse_as(UserRead), json=body)


def delete_user(user_id: int) -> Call[None]:
    return Call("DELETE", "auth", f"/users/{user_id}", parse_none)


def change_password(current_password: str, new_password: str) -> Call[None]:
    body = PasswordChange(current_password=current_password, new_password=new_password)
    body_json = body.model_dump()
    path = "/users/me/password"
    return Call("PUT", "auth", path, parse_none, json=body_json, idempotent=False)


def reset_password(user_id: int, new_password: str) -> Call[None]:
    body = PasswordReset(new_password=new_password).model_dump()
    return Call("PUT", "auth", f"/users/{user_id}/password", parse_none, json=body)


def permissions() -> Call[list[PermissionRead]]:
    return Call("GET", "auth", "/auth/permissions", parse_as(list[PermissionRead]), auth=False)


def public_key() -> Call[PublicKeyRead]:
    return Call("GET", "auth", "/auth/public-key", parse_as(PublicKeyRead), auth=False)


def jwks() -> Call[Jwks]:
    return Call("GET", "auth", "/.well-known/jwks.json", parse_as(Jwks), auth=False)


def health() -> Call[dict[str, Any]]:
    return Call("GET", "auth", "/health", parse_json, auth=False)


def create_api_key(body: ApiKeyCreate) -> Call[ApiKeyCreated]:
    data = body.model_dump(mode="json", exclude_none=True)
    return Call("POST", "auth", "/users/me/api-keys", parse_as(ApiKeyCreated), json=data)


def _keys_path(user_id: int | None) -> str:
    return "/users/me/api-keys" if user_id is None else f"/users/{user_id}/api-keys"


def list_api_keys(user_id: int | None = None) -> Call[list[ApiKeyRead]]:
    return Call("GET", "auth", _keys_path(user_id), parse_as(list[ApiKeyRead]))


def revoke_api_key(key_id: int, user_id: int | None = None) -> Call[None]:
    return Call("DELETE", "auth", f"{_keys_path(user_id)}/{key_id}", parse_none)
