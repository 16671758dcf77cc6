"""One error type and one handler: every error body is ``{"detail": ...}``."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("medianest.errors")


class MediaNestError(Exception):
    """A domain error that maps to an HTTP status; raised by services, rendered by the handler."""

    status_code = 400

    def __init__(
        self, detail: Any, status_code: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers


class BadRequest(MediaNestError):
    status_code = 400


class Unauthorized(MediaNestError):
    status_code = 401

    def __init__(self, detail: Any = "not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(MediaNestError):
    status_code = 403


class NotFound(MediaNestError):
    status_code = 404


class Conflict(MediaNestError):
    status_code = 409


class PayloadTooLarge(MediaNestError):
    status_code = 413


class UnsupportedMediaType(MediaNestError):
    status_code = 415


class Unprocessable(MediaNestError):
    status_code = 422


class TooManyRequests(MediaNestError):
    status_code = 429


class InsufficientStorage(MediaNestError):
    status_code = 507


class ServiceUnavailable(MediaNestError):
    """A dependency is down or a helper process died: the request may succeed if retried."""

    status_code = 503

    def __init__(
        self, detail: Any, status_code: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, status_code, {"Retry-After": "2", **(headers or {})})


T = TypeVar("T")


def found(value: T | None, detail: str) -> T:
    """``value``, or a 404 with ``detail`` when it is None (a lookup that found nothing)."""
    if value is None:
        raise NotFound(detail)
    return value


def _json(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape and never leak internals."""

    @app.exception_handler(MediaNestError)
    async def _domain(_: Request, exc: MediaNestError) -> JSONResponse:
        return _json(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in exc.errors()
        ]
        return _json(422, errors)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A value the database cannot hold (e.g. an id past 64 bits) is the caller's error.
        log.info("value rejected by the database", extra={"error": type(exc).__name__})
        return _json(422, "a value is out of range")

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning(
            "database unavailable", extra={"request_id": _rid(request), "error": type(exc).__name__}
        )
        return _json(503, "database unavailable, retry shortly", {"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": _rid(request)}, exc_info=exc)
        return _json(500, "internal error")


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)
