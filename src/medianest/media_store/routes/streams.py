"""Video streaming: HLS (master and variant playlists, MPEG-TS segments) and a progressive MP4."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from medianest.common.errors import NotFound
from medianest.common.security import StoreRead
from medianest.media_store.media.hls import MASTER, PLAYBACK
from medianest.media_store.routes.deps import Ctx, ReadSession
from medianest.media_store.routes.files import serve
from medianest.media_store.service import streams
from medianest.media_store.service.files import FileTarget

router = APIRouter(prefix="/entity", tags=["streams"])
EntityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StreamFile = Annotated[
    str,
    Path(
        pattern=r"^(master|[0-9]{3,4}p)\.m3u8$|^[0-9]{3,4}p_[0-9]{5}\.ts$",
        description="master.m3u8, a variant playlist (480p.m3u8) or a segment (480p_00000.ts)",
    ),
]
HLS_MIME = "application/vnd.apple.mpegurl"
RETRY_AFTER_S = 3


def _described(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, **extra}


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _described("the playlist, segment or MP4"),
    202: _described("being made: retry after Retry-After seconds"),
    206: _described("the requested byte range"),
    304: _described("not modified (If-None-Match)"),
    401: _described("read-auth is on and no valid credential was sent"),
    403: _described("the caller lacks media_store_read"),
    404: _described("no such entity, not a video, no such file, or streaming is off"),
    416: _described("range not satisfiable"),
    422: _described("the video could not be transcoded"),
    503: _described("too many videos waiting to be transcoded"),
}


def _pending() -> Response:
    return JSONResponse(
        {"detail": "the stream is being made; retry shortly"},
        status_code=202,
        headers={"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"},
    )


def _serve(request: Request, target: streams.StreamTarget, name: str, media: str) -> Response:
    if target.folder is None:
        return _pending()
    path = target.folder / name
    if not path.is_file():
        raise NotFound(f"no stream file {name}")
    etag = f'"{target.sha256[:20]}-{name}"'
    filename = f"{target.entity_id}.mp4" if name == PLAYBACK else name
    return serve(request, FileTarget(path, media, etag, filename), download=False)


@router.head("/{entity_id}/stream/{name}", response_class=Response, operation_id="head_stream")
@router.get("/{entity_id}/stream/{name}", response_class=Response, responses=STREAM_RESPONSES)
def get_stream(
    entity_id: EntityId,
    name: StreamFile,
    request: Request,
    _: StoreRead,
    session: ReadSession,
    ctx: Ctx,
) -> Response:
    """HLS of a video (H.264/AAC): start at master.m3u8; 202 while it is being made."""
    target = streams.locate(session, ctx, entity_id)
    media = HLS_MIME if name.endswith(".m3u8") else "video/mp2t"
    return _serve(request, target, name, media)


@router.head("/{entity_id}/playback", response_class=Response, operation_id="head_playback")
@router.get("/{entity_id}/playback", response_class=Response, responses=STREAM_RESPONSES)
def get_playback(
    entity_id: EntityId, request: Request, _: StoreRead, session: ReadSession, ctx: Ctx
) -> Response:
    """A browser-playable MP4 (H.264/AAC, at most 1080p) with Range; 202 while being made."""
    target = streams.locate(session, ctx, entity_id)
    return _serve(request, target, PLAYBACK, "video/mp4")


__all__ = ["MASTER", "router"]
