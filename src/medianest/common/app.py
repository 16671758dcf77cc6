"""The pieces every service app shares: error handlers, request ids, CORS, token verification."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from medianest import __version__
from medianest.common.api_keys import ApiKeyAuthenticator, RemoteExchange
from medianest.common.demo import check_demo_mode
from medianest.common.errors import install_error_handlers
from medianest.common.logging import RequestIdMiddleware
from medianest.common.metrics import install_metrics
from medianest.common.openapi import install_openapi
from medianest.common.security import PublicKeyProvider, TokenVerifier
from medianest.common.settings import CommonSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(
    title: str, settings: CommonSettings, lifespan: Lifespan, description: str = ""
) -> FastAPI:
    check_demo_mode(settings, title)  # refuses demo mode off loopback, before anything starts
    app = FastAPI(title=title, version=__version__, description=description, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    if settings.cors_origins:  # closed by default: only configured origins may call from a browser
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Content-Disposition", "X-Request-ID", "Content-Range"],
        )
    install_metrics(app, settings.home)
    app.add_middleware(RequestIdMiddleware)
    return app


def token_verifier_for(settings: CommonSettings, auth_url: str | None = None) -> TokenVerifier:
    """Verifies access tokens, and API keys by exchanging them at the auth service (cached)."""
    url = auth_url or settings.auth_url
    keys = PublicKeyProvider(key_path=settings.public_key_path, auth_url=url)
    verifier = TokenVerifier(keys, settings.token_issuer, settings.token_audience)
    verifier.api_keys = ApiKeyAuthenticator(RemoteExchange(url), verifier, settings.api_key_cache_s)
    return verifier


def banner(service: str) -> dict[str, Any]:
    return {"service": service, "name": "MediaNest", "version": __version__}


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
