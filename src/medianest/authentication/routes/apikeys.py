"""API keys: the caller's own, anyone's for admins, and the exchange for an access token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from medianest.authentication.deps import ActiveAdmin, ApiKeys, ContextDep
from medianest.authentication.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, ApiKeyToken
from medianest.common.errors import Unauthorized
from medianest.common.security import ApiKeyCredential, Credentials, CurrentUser

router = APIRouter(tags=["api keys"])
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {}}}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: _err("Not authenticated")}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    403: _err("Administrator only"),
    404: _err("No such user or key"),
}


@router.post(
    "/users/me/api-keys",
    status_code=status.HTTP_201_CREATED,
    responses={
        **AUTH_ERRORS,
        403: _err("A permission the caller does not hold, or the caller is an API key"),
        409: _err("Too many keys"),
        422: _err("Invalid body or expiry in the past"),
    },
)
def create_key(
    body: ApiKeyCreate, user: CurrentUser, keys: ApiKeys, response: Response
) -> ApiKeyCreated:
    """Create an API key with a subset of the caller's permissions; the key is shown once."""
    response.headers["Cache-Control"] = "no-store"
    key, raw = keys.create(user, body)
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=raw)


@router.get("/users/me/api-keys", responses=AUTH_ERRORS)
def list_my_keys(user: CurrentUser, keys: ApiKeys) -> list[ApiKeyRead]:
    """The caller's API keys (never their secrets), with when each was last used."""
    return [ApiKeyRead.model_validate(k) for k in keys.list(user.id)]


@router.delete(
    "/users/me/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH_ERRORS, 404: _err("No such key of the caller")},
)
def revoke_my_key(key_id: KeyId, user: CurrentUser, keys: ApiKeys) -> None:
    """Revoke one of the caller's API keys (services notice within their key cache time)."""
    keys.revoke_own(user.id, key_id)


@router.get("/users/{user_id}/api-keys", responses=ADMIN_ERRORS)
def list_user_keys(user_id: UserId, _: ActiveAdmin, keys: ApiKeys) -> list[ApiKeyRead]:
    """A user's API keys (admin)."""
    return [ApiKeyRead.model_validate(k) for k in keys.list_for_admin(user_id)]


@router.delete(
    "/users/{user_id}/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ADMIN_ERRORS,
)
def revoke_user_key(user_id: UserId, key_id: KeyId, _: ActiveAdmin, keys: ApiKeys) -> None:
    """Revoke a user's API key (admin)."""
    keys.revoke(user_id, key_id)


@router.post(
    "/auth/api-key-token",
    responses={401: _err("Malformed, unknown, expired or revoked key, or inactive owner")},
)
def exchange_key(
    ctx: ContextDep,
    keys: ApiKeys,
    response: Response,
    credentials: Credentials,
    api_key: ApiKeyCredential,
) -> ApiKeyToken:
    """Exchange an API key (X-API-Key or Authorization: Bearer) for a short-lived access token
    whose permissions are the key's scopes within its owner's current permissions."""
    response.headers["Cache-Control"] = "no-store"
    raw = api_key
    if raw is None and credentials is not None and credentials.scheme.lower() == "bearer":
        raw = credentials.credentials
    if raw is None:
        raise Unauthorized("send the API key as X-API-Key or Authorization: Bearer")
    return keys.exchange(ctx.keys, raw)
