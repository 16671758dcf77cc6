"""File endpoints: original bytes (with Range), thumbnail, preview, metadata."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as PathType
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from medianest.common.openapi import errors
from medianest.common.security import StoreRead
from medianest.contracts.ids import MAX_ID
from medianest.media_store.routes.deps import Ctx, ReadSession
from medianest.media_store.routes.remote import serve_remote
from medianest.media_store.service import files
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.files import FileTarget
from medianest.media_store.storage import Rendition

router = APIRouter(prefix="/entity", tags=["files"])
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]
VersionNumber = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Download = Annotated[bool, Query(description="serve as an attachment instead of inline")]
Token = Annotated[
    str | None,
    Query(max_length=64, description="the entity's `token`: when current, cached as immutable"),
]
IMMUTABLE = "private, max-age=31536000, immutable"
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "the file",
    },
    206: {"description": "the requested byte range"},
    304: {"description": "not modified (If-None-Match)"},
    307: {"description": "redirect to a presigned URL (S3 storage with presigned downloads)"},
    **errors(400, 404, 416, 503),
}
FILE_RESPONSES[400]["description"] = "malformed Range header"
FILE_RESPONSES[416]["description"] = "range not satisfiable"
FILE_RESPONSES[416]["headers"] = {
    "Content-Range": {"description": "bytes */<size>", "schema": {"type": "string"}}
}
_RANGE_ERRORS = {400: "malformed Range header", 416: "range not satisfiable"}


class SafeFileResponse(FileResponse):
    """FileResponse (Range, 206, 416) whose every answer, errors included, carries nosniff.

    Starlette answers a bad Range with a plain-text 400 or an empty 416; they are rewritten into
    the ``{"detail": ...}`` body every MediaNest error has.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error_start: Message | None = None

        async def send_nosniff(message: Message) -> None:
            nonlocal error_start
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("x-content-type-options", "nosniff")
                if message["status"] in _RANGE_ERRORS:
                    error_start = message  # held until its body is known
                    return
            elif error_start is not None:
                for rewritten in _json_error(error_start, message.get("body", b"")):
                    await send(rewritten)
                error_start = None
                return
            await send(message)

        await super().__call__(scope, receive, send_nosniff)


def _json_error(start: Message, text: bytes) -> list[Message]:
    """Starlette's plain-text Range error as a ``{"detail": ...}`` JSON response."""
    detail = text.decode("utf-8", "replace").strip() or _RANGE_ERRORS[start["status"]]
    body = json.dumps({"detail": detail}).encode()
    headers = MutableHeaders(scope=start)
    headers["content-type"] = "application/json"
    headers["content-length"] = str(len(body))
    return [start, {"type": "http.response.body", "body": body}]


def content_disposition(kind: str, filename: str) -> str:
    """``inline``/``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def serve(
    request: Request, target: FileTarget, download: bool, token: str | None = None
) -> Response:
    """The file with its ETag; immutable caching when the URL names its current content."""
    current = token is not None and token == target.token
    cache = IMMUTABLE if current else "private, no-cache"
    headers = {**NOSNIFF, "ETag": target.etag, "Cache-Control": cache}
    if _etag_matches(request.headers.get("if-none-match"), target.etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = content_disposition(
        "attachment" if download else "inline", target.filename
    )
    if not isinstance(target.path, PathType):  # an object in a bucket
        return serve_remote(request, target.path, target.media_type, headers)
    return SafeFileResponse(target.path, media_type=target.media_type, headers=headers)


Endpoint = Callable[..., Response]


def _file_route(
    kind: str, doc: str, responses: dict[int | str, dict[str, Any]] | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Register ``endpoint`` as ``GET`` and ``HEAD /entity/{id}/<kind>`` (HEAD: headers only)."""

    def register(endpoint: Endpoint) -> Endpoint:
        endpoint.__doc__ = doc
        path = f"/{{entity_id}}/{kind}"
        router.head(
            path, response_class=Response, operation_id=f"head_{kind}", responses=errors(404)
        )(endpoint)
        get_responses = {**FILE_RESPONSES, **(responses or {})}
        router.get(path, response_class=Response, responses=get_responses, name=f"get_{kind}")(
            endpoint
        )
        return endpoint

    return register


@dataclass(frozen=True)
class FileRequest:
    """Which entity's file (and version) a file endpoint serves, with what it needs for it."""

    entity_id: int
    version: int | None
    request: Request
    session: Session
    ctx: StoreContext


def file_request(
    entity_id: EntityId,
    request: Request,
    _: StoreRead,
    session: ReadSession,
    ctx: Ctx,
    version: VersionNumber = None,
) -> FileRequest:
    return FileRequest(entity_id, version, request, session, ctx)


FileDep = Annotated[FileRequest, Depends(file_request)]


INTEGRITY = errors(409)
INTEGRITY[409]["description"] = "the file failed its integrity check (audit); not served"


@_file_route(
    "file", "The original bytes (any version), with ETag and HTTP Range.", responses=INTEGRITY
)
def get_file(f: FileDep, download: Download = False) -> Response:
    target = files.original(f.session, f.ctx, f.entity_id, f.version)
    return serve(f.request, target, download)


def _rendition(kind: Rendition, doc: str) -> None:
    def endpoint(f: FileDep, v: Token = None) -> Response:
        target = files.rendition(f.session, f.ctx, f.entity_id, kind, f.version)
        return serve(f.request, target, download=False, token=v)

    _file_route(kind.name, doc)(endpoint)


_rendition(Rendition.thumbnail, "A ~256 px thumbnail (WebP or JPEG), EXIF orientation applied.")
_rendition(Rendition.preview, "A ~1440 px JPEG preview, EXIF orientation applied.")


@router.get("/{entity_id}/metadata", responses=errors(404))
def get_metadata(
    entity_id: EntityId, _: StoreRead, session: ReadSession, version: VersionNumber = None
) -> dict[str, Any]:
    """The full exiftool output (JSON) of the entity's file."""
    return files.metadata(session, entity_id, version)
