"""File endpoints: original bytes (with Range), thumbnail, preview, metadata."""

from __future__ import annotations

from pathlib import Path as PathType
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from medianest.common.security import StoreRead
from medianest.media_store.routes.deps import Ctx, ReadSession
from medianest.media_store.routes.remote import serve_remote
from medianest.media_store.service import files
from medianest.media_store.service.files import FileTarget
from medianest.media_store.storage import Rendition

router = APIRouter(prefix="/entity", tags=["files"])
EntityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
VersionNumber = Annotated[int | None, Query(ge=1)]
Download = Annotated[bool, Query(description="serve as an attachment instead of inline")]
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file"},
    206: {"description": "the requested byte range"},
    304: {"description": "not modified (If-None-Match)"},
    307: {"description": "redirect to a presigned URL (S3 storage with presigned downloads)"},
    416: {"description": "range not satisfiable"},
    503: {"description": "object storage unavailable (Retry-After)"},
}


class SafeFileResponse(FileResponse):
    """FileResponse (Range, 206, 416) whose every answer, errors included, carries nosniff."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("x-content-type-options", "nosniff")
            await send(message)

        await super().__call__(scope, receive, send_nosniff)


def content_disposition(kind: str, filename: str) -> str:
    """``inline``/``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def serve(request: Request, target: FileTarget, download: bool) -> Response:
    headers = {**NOSNIFF, "ETag": target.etag, "Cache-Control": "private, no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), target.etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = content_disposition(
        "attachment" if download else "inline", target.filename
    )
    if not isinstance(target.path, PathType):  # an object in a bucket
        return serve_remote(request, target.path, target.media_type, headers)
    return SafeFileResponse(target.path, media_type=target.media_type, headers=headers)


@router.head("/{entity_id}/file", response_class=Response, operation_id="head_file")
@router.get("/{entity_id}/file", response_class=Response, responses=FILE_RESPONSES)
def get_file(
    entity_id: EntityId,
    request: Request,
    _: StoreRead,
    session: ReadSession,
    ctx: Ctx,
    version: VersionNumber = None,
    download: Download = False,
) -> Response:
    """The original bytes (any version), with ETag and HTTP Range."""
    return serve(request, files.original(session, ctx, entity_id, version), download)


@router.head("/{entity_id}/thumbnail", response_class=Response, operation_id="head_thumbnail")
@router.get("/{entity_id}/thumbnail", response_class=Response, responses=FILE_RESPONSES)
def get_thumbnail(
    entity_id: EntityId,
    request: Request,
    _: StoreRead,
    session: ReadSession,
    ctx: Ctx,
    version: VersionNumber = None,
) -> Response:
    """A ~256 px thumbnail (WebP or JPEG), EXIF orientation applied."""
    target = files.rendition(session, ctx, entity_id, Rendition.thumbnail, version)
    return serve(request, target, download=False)


@router.head("/{entity_id}/preview", response_class=Response, operation_id="head_preview")
@router.get("/{entity_id}/preview", response_class=Response, responses=FILE_RESPONSES)
def get_preview(
    entity_id: EntityId,
    request: Request,
    _: StoreRead,
    session: ReadSession,
    ctx: Ctx,
    version: VersionNumber = None,
) -> Response:
    """A ~1440 px JPEG preview, EXIF orientation applied."""
    target = files.rendition(session, ctx, entity_id, Rendition.preview, version)
    return serve(request, target, download=False)


@router.get("/{entity_id}/metadata")
def get_metadata(
    entity_id: EntityId, _: StoreRead, session: ReadSession, version: VersionNumber = None
) -> dict[str, Any]:
    """The full exiftool output (JSON) of the entity's file."""
    return files.metadata(session, entity_id, version)
