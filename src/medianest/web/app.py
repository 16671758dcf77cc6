"""The web app server: ``create_app(settings)``; one origin for the browser app and the APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from medianest import __version__
from medianest.web.config import Settings
from medianest.web.proxy import Proxy
from medianest.web.static import AppFiles

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "web", "version": __version__})


async def forward(request: Request) -> Response:
    proxy: Proxy = request.app.state.proxy
    return await proxy.forward(request, request.path_params["service"])


async def unknown_api(request: Request) -> Response:
    return JSONResponse({"detail": f"no API at {request.url.path}"}, status_code=404)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the web server: its health, the API proxy, then the built browser app."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.proxy = Proxy(settings.upstreams(), settings.web_upstream_read_timeout_s)
        try:
            yield
        finally:
            await app.state.proxy.aclose()

    routes = [
        Route("/health", health, methods=["GET", "HEAD"]),
        Route("/api/web/health", health, methods=["GET", "HEAD"]),
        Route("/api/{service:str}/{rest:path}", forward, methods=METHODS),
        Route("/api/{service:str}", forward, methods=METHODS),
        Route("/api/{rest:path}", unknown_api, methods=METHODS),
        Route("/api", unknown_api, methods=METHODS),
        Mount("/", app=AppFiles(settings.web_dist), name="app"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app
