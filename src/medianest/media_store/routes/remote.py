"""Serving a file that lives in a bucket: streamed through with HTTP Range (206/416), or a 307
redirect to a presigned URL when ``MEDIA_STORE_S3_PRESIGNED_DOWNLOADS`` is on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from medianest.media_store.storage import RemoteFile

CHUNK = 1 << 20
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) inclusive for one satisfiable range; None: whole file; False: 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:  # several ranges or another unit: serve the whole file (RFC 9110 allows)
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def serve_remote(
    request: Request, remote: RemoteFile, media_type: str, headers: dict[str, str]
) -> Response:
    source = remote.source
    if source.presigned_downloads:
        url = source.presigned_url(
            remote.key, source.presign_ttl_s, media_type, headers["Content-Disposition"]
        )
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    headers = {**headers, "Accept-Ranges": "bytes"}
    wanted = byte_range(request.headers.get("range"), remote.size)
    if wanted is False:
        headers["Content-Range"] = f"bytes */{remote.size}"
        return Response(status_code=416, headers=headers)
    start, end = wanted if isinstance(wanted, tuple) else (0, remote.size - 1)
    status = 206 if isinstance(wanted, tuple) else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{remote.size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD" or remote.size == 0:
        return Response(status_code=status, headers=headers, media_type=media_type)
    body = source.open_range(remote.key, start, end)  # errors here are still a clean 503
    return StreamingResponse(_stream(body), status_code=status, headers=headers,
                             media_type=media_type)  # fmt: skip
