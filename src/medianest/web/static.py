"""The built browser app: files from ``web/dist``, the SPA fallback, and cache headers.

Vite names every file under ``assets/`` after a hash of its content, so those are cached for a
year as immutable; ``index.html`` (which names the current hashes) is always revalidated. A path
that is not a file gets ``index.html`` so the browser app's router can show it (``/album/12``),
except under ``assets/`` where a missing file is a plain 404 (a stale page asking for an old hash
must not get HTML as JavaScript).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED_DIR = "assets"
# the app must not be framed by another site (clickjacking) nor leak its URLs to other sites
PAGE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "same-origin",
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MediaNest: web app not built</title></head>
<body><main><h1>The MediaNest web app was not built</h1>
<p>The server runs, and the APIs answer under <code>/api/auth/</code>, <code>/api/store/</code>
and <code>/api/inference/</code>, but there are no built files in <code>{dist}</code>.</p>
<p>Build it from the repository root with <code>make web</code> (it needs Node.js and npm;
<code>make run</code> does this for you), then reload this page.</p></main></body></html>
"""


class AppFiles(StaticFiles):
    """StaticFiles (ETag, Last-Modified, 304, Range) with per-file Cache-Control."""

    def __init__(self, dist: Path) -> None:
        super().__init__(directory=dist, check_dir=False)
        self.dist = dist

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        try:
            relative = Path(full_path).relative_to(self.dist.resolve()).as_posix()
        except ValueError:  # dist reached through a symlink: not known to be hashed
            relative = ""
        hashed = relative.startswith(f"{HASHED_DIR}/")
        response.headers["cache-control"] = IMMUTABLE if hashed else REVALIDATE
        response.headers.update(PAGE_HEADERS)
        return response

    async def check_config(self) -> None:
        if self.dist.is_dir():  # a missing build is answered per request (see below)
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not (self.dist / "index.html").is_file():
            page = NOT_BUILT.format(dist=html.escape(str(self.dist)))
            headers = {**PAGE_HEADERS, "cache-control": "no-store"}
            return HTMLResponse(page, status_code=503, headers=headers)
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.split("/")[0] == HASHED_DIR:
                raise
        return await super().get_response("index.html", scope)
