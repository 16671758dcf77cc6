"""Login, refresh, logout and the public key material (all deliberately public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status

from medianest.authentication.deps import ClientAddress, ContextDep, Tokens
from medianest.authentication.schemas import (
    Jwks,
    LoginForm,
    PermissionInfo,
    PublicKeyResponse,
    RefreshRequest,
    TokenResponse,
)
from medianest.common.openapi import errors
from medianest.common.permissions import (
    DESCRIPTIONS,
    WILDCARD,
    WILDCARD_DESCRIPTION,
    Permission,
)

router = APIRouter(tags=["auth"])


@router.post("/auth/token", responses=errors(401, 429))
def login(
    form: Annotated[LoginForm, Form()], tokens: Tokens, address: ClientAddress, response: Response
) -> TokenResponse:
    """Exchange a username and password (OAuth2 password form) for access and refresh tokens."""
    response.headers["Cache-Control"] = "no-store"
    return tokens.login(form.username, form.password, address)


@router.post("/auth/refresh", responses=errors(401))
def refresh(body: RefreshRequest, tokens: Tokens, response: Response) -> TokenResponse:
    """Rotate a refresh token into a new token pair."""
    response.headers["Cache-Control"] = "no-store"
    return tokens.refresh(body.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, tokens: Tokens) -> None:
    """Revoke the session a refresh token belongs to."""
    tokens.logout(body.refresh_token)


@router.get("/auth/public-key")
def public_key(ctx: ContextDep) -> PublicKeyResponse:
    """The PEM public key that verifies access tokens."""
    return PublicKeyResponse(public_key=ctx.keys.public_pem(), kid=ctx.keys.kid)


@router.get("/.well-known/jwks.json")
def jwks(ctx: ContextDep) -> Jwks:
    """The verification keys as a JSON Web Key Set."""
    return Jwks(keys=[ctx.keys.jwk()])


@router.get("/auth/permissions")
def permissions() -> list[PermissionInfo]:
    """The permission strings the system knows, with what they grant (any well-formed name
    can be granted; ``*`` grants every permission)."""
    known = [PermissionInfo(name=p.value, description=DESCRIPTIONS.get(p, "")) for p in Permission]
    return [*known, PermissionInfo(name=WILDCARD, description=WILDCARD_DESCRIPTION)]
