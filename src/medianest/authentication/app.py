"""The authentication service app (port 8002)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from medianest.authentication import repository as repo
from medianest.authentication.apikeys import LocalExchange
from medianest.authentication.bootstrap import bootstrap_admin
from medianest.authentication.config import Settings
from medianest.authentication.context import AuthContext
from medianest.authentication.db import migrate
from medianest.authentication.keys import OwnKeyProvider
from medianest.authentication.routes import routers
from medianest.common.api_keys import ApiKeyAuthenticator
from medianest.common.app import build_app
from medianest.common.db import Database
from medianest.common.security import DEMO_ADMIN, TokenUser, TokenVerifier

DESCRIPTION = "Users, permissions and ES256 access tokens with rotating refresh tokens."


def _start(settings: Settings) -> tuple[Database, AuthContext]:
    """Migrate, load or create the key pair, and make sure the admin account exists."""
    migrate(settings.db_url())
    ctx = AuthContext.from_settings(settings)
    db = Database(settings.db_url())
    try:
        bootstrap_admin(db, settings, ctx.passwords)
    except BaseException:
        db.dispose()
        raise
    return db, ctx


def demo_user(db: Database, settings: Settings) -> TokenUser:
    """Demo mode: anonymous callers are the bootstrapped admin account (so /users/me works)."""
    with db.read_sessions.begin() as session:
        admin = repo.get_user_by_username(session, settings.admin_username)
        if admin is None:
            return DEMO_ADMIN
        return TokenUser(
            id=admin.id, permissions=frozenset({"*"}), is_admin=True, username=admin.username
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db, ctx = await anyio.to_thread.run_sync(_start, settings)
        app.state.db = db
        app.state.auth = ctx
        verifier = TokenVerifier(
            OwnKeyProvider(ctx.keys), settings.token_issuer, settings.token_audience
        )
        # no cache here: the auth service has the truth at hand, so a key revoked or an owner
        # demoted is refused by it at once (other services: within MEDIANEST_API_KEY_CACHE_S)
        exchange = LocalExchange(db, settings, ctx.keys)
        verifier.api_keys = ApiKeyAuthenticator(exchange, verifier, cache_s=0)
        app.state.token_verifier = verifier
        if settings.auth_disabled:
            app.state.demo_user = await anyio.to_thread.run_sync(demo_user, db, settings)
        try:
            yield
        finally:
            db.dispose()

    app = build_app("MediaNest authentication", settings, lifespan, DESCRIPTION)
    for router in routers:
        app.include_router(router)
    return app
