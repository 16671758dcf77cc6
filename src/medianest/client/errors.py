"""Typed exceptions for every way a MediaNest call can fail.

Each carries the HTTP ``status_code`` (0 when no response arrived) and the server's ``detail``
(a string, or FastAPI's list of validation errors).
"""

from __future__ import annotations

from typing import Any

import httpx


class MediaNestError(Exception):
    """Base of every SDK error: ``status_code`` and the server's ``detail``."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class BadRequest(MediaNestError):
    """400: the server refused the request as malformed (e.g. an unknown task type)."""


class Unauthorized(MediaNestError):
    """401: not logged in, bad credentials, or a token the server no longer accepts."""


class Forbidden(MediaNestError):
    """403: logged in but lacking the permission."""


class NotFound(MediaNestError):
    """404: no such entity, version, user, job or face."""


class Conflict(MediaNestError):
    """409: e.g. PUT with content that belongs to another entity."""


class PayloadTooLarge(MediaNestError):
    """413: the file is over the store's size limit."""


class UnsupportedMedia(MediaNestError):
    """415: the file is neither an image nor a video the store accepts."""


class ValidationError(MediaNestError):
    """422: the input failed validation (or the file could not be decoded)."""


class RateLimited(MediaNestError):
    """429: too many requests; ``retry_after`` seconds (None when the server did not say)."""

    def __init__(self, status_code: int, detail: Any, retry_after: float | None = None) -> None:
        super().__init__(status_code, detail)
        self.retry_after = retry_after


class ServerError(MediaNestError):
    """5xx: the service failed or is unavailable."""


class ConnectionFailed(MediaNestError):
    """No response: the service is unreachable, refused the connection, or timed out."""

    def __init__(self, detail: Any) -> None:
        super().__init__(0, detail)


_BY_STATUS: dict[int, type[MediaNestError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMedia,
    422: ValidationError,
}


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return body["detail"]
    return body


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def error_for(response: httpx.Response) -> MediaNestError:
    """Build the typed exception for an error response (its body must already be read)."""
    status, detail = response.status_code, _detail(response)
    if status == 429:
        return RateLimited(status, detail, _retry_after(response))
    if status >= 500:
        return ServerError(status, detail)
    return _BY_STATUS.get(status, MediaNestError)(status, detail)
