"""FastAPI dependencies of the authentication service: its services and the admin check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from medianest.authentication.apikeys import ApiKeyService
from medianest.authentication.context import AuthContext
from medianest.authentication.service import UserService
from medianest.authentication.tokens import TokenService
from medianest.common.deps import ReadSessionDep, SessionDep
from medianest.common.openapi import raises
from medianest.common.security import Admin, TokenUser


def get_context(request: Request) -> AuthContext:
    ctx: AuthContext = request.app.state.auth
    return ctx


ContextDep = Annotated[AuthContext, Depends(get_context)]


def get_users(session: SessionDep, ctx: ContextDep) -> UserService:
    return UserService(session, ctx.passwords, ctx.throttle)


def get_read_users(session: ReadSessionDep, ctx: ContextDep) -> UserService:
    return UserService(session, ctx.passwords, ctx.throttle)


def get_api_keys(session: SessionDep, ctx: ContextDep) -> ApiKeyService:
    return ApiKeyService(session, ctx.settings)


@raises(503)  # the token service opens its own transactions
def get_tokens(request: Request, ctx: ContextDep) -> TokenService:
    return TokenService(request.app.state.db, ctx)


Users = Annotated[UserService, Depends(get_users)]
ReadUsers = Annotated[UserService, Depends(get_read_users)]
Tokens = Annotated[TokenService, Depends(get_tokens)]
ApiKeys = Annotated[ApiKeyService, Depends(get_api_keys)]


@raises(401, 403)
def require_active_admin(user: Admin, users: Users) -> TokenUser:
    """An admin token whose account is still an active admin in the database."""
    users.require_admin(user.id)
    return user


ActiveAdmin = Annotated[TokenUser, Depends(require_active_admin)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddress = Annotated[str | None, Depends(client_address)]
