"""Shared fixtures for the browser tests: one real MediaNest system and one headless Chromium
per module, a logged-in page, screenshots of every open page when a test fails.

Import the fixtures in a test module with ``from tests.web.browser import *  # noqa: F403``.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need the `playwright` pip package"
)
if not (DIST / "index.html").is_file():
    pytest.skip(
        "web/dist is missing: build the web app first (`cd web && npm ci && npm run build`; "
        "`make test` does it)",
        allow_module_level=True,
    )
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebSystem:
    """A running `medianest up` plus the web app in front of it."""

    home: Path
    log: Path
    urls: dict[str, str]
    web_url: str
    password: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _token: str | None = None

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]

    def token(self) -> str:
        if self._token is None:
            resp = httpx.post(
                f"{self.urls['auth']}/auth/token",
                data={"username": "admin", "password": self.password},
            )
            resp.raise_for_status()
            self._token = str(resp.json()["access_token"])
        return self._token

    def api(self, service: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.urls[service],
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
        )

    def upload(self, name: str, data: bytes, mime: str = "image/jpeg", **fields: str) -> int:
        with self.api("media_store") as api:
            resp = api.post(
                "/entity/",
                data={"is_collection": "false", **fields},
                files={"image": (name, data, mime)},
            )
        assert resp.status_code in (200, 201), resp.text
        return int(resp.json()["id"])


def _wait(check: object, what: str, timeout: float, system: WebSystem) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in system.procs:
            assert proc.poll() is None, f"{proc.args!r} exited:\n{system.log_tail()}"
        try:
            if callable(check) and check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}:\n{system.log_tail()}")


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code < 500


def start_system(home: Path, workers: int) -> WebSystem:
    names = ("auth", "media_store", "inference")
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in names}
    web_url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "MEDIANEST_HOME": str(home / "data"),
        "MEDIANEST_AUTH_URL": urls["auth"],
        "MEDIANEST_MEDIA_STORE_URL": urls["media_store"],
        "MEDIANEST_INFERENCE_URL": urls["inference"],
        "MEDIANEST_WEB_URL": web_url,
    }
    env.pop("AUTH_ADMIN_PASSWORD", None)
    # A private copy of the build, so rebuilding web/ while the tests run changes nothing here.
    dist = home / "dist"
    shutil.copytree(DIST, dist)
    env["MEDIANEST_WEB_DIST"] = str(dist)
    log = home / "up.log"
    system = WebSystem(home / "data", log, urls, web_url, "")
    with log.open("wb") as out:
        system.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "medianest", "up", "--workers", str(workers)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=home,
            )
        )
    _wait(lambda: "Press Ctrl-C to stop." in system.log_tail(100_000), "medianest up", 180, system)
    system.password = (system.home / "admin-password").read_text().strip()
    try:
        web_ready = httpx.get(f"{web_url}/api/web/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        web_ready = False
    if not web_ready:
        # `medianest up` without the web server (older checkout): serve web/dist with Vite's
        # preview server, which proxies /api/<service> the same way (web/vite.config.ts).
        port = web_url.rsplit(":", 1)[1]
        npx = shutil.which("npx")
        assert npx, "npx is needed to serve web/dist without the web server"
        args = ["vite", "preview", "--outDir", str(dist), "--host", "127.0.0.1", "--port", port]
        with log.open("ab") as out:
            system.procs.append(
                subprocess.Popen(
                    [npx, *args, "--strictPort"],
                    env=env,
                    cwd=WEB,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(lambda: _answers(f"{web_url}/"), "vite preview", 60, system)
    return system


def stop_system(system: WebSystem) -> None:
    for proc in reversed(system.procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def web_system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[WebSystem]:
    workers = int(getattr(request.module, "WORKERS", 0))
    system = start_system(tmp_path_factory.mktemp("web"), workers)
    try:
        yield system
    finally:
        stop_system(system)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def context(browser: object, web_system: WebSystem) -> Iterator[object]:
    """One logged-in browser context for the module (tests share the session, like a person)."""
    ctx = browser.new_context(  # type: ignore[attr-defined]
        base_url=web_system.web_url, viewport={"width": 1280, "height": 860}, accept_downloads=True
    )
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    page.goto("/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(web_system.password)
    page.get_by_role("button", name="Log in").click()
    playwright_sync.expect(page.get_by_role("link", name="Photos")).to_be_visible()
    page.close()
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a failing test's screenshots go (printed when used)."""
    return tmp_path_factory.getbasetemp() / "browser-screenshots"


@pytest.fixture
def page(context: object, request: pytest.FixtureRequest, shots: Path) -> Iterator[object]:
    """A fresh tab in the logged-in context; on failure every open tab is saved as a PNG."""
    failed_before = request.session.testsfailed
    tab = context.new_page()  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        if request.session.testsfailed > failed_before:
            save_screenshots(context, shots, request.node.name)
        tab.close()


def save_screenshots(context: object, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, open_page in enumerate(context.pages):  # type: ignore[attr-defined]
        path = folder / f"{name}-{i}.png"
        try:
            open_page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
        except playwright_sync.Error:
            pass


def jpeg(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    """A distinct, photo-like JPEG: a smooth gradient with a few large shapes (`seed` picks them),
    so resized copies keep their perceptual hash."""
    rnd = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), tuple(rnd.randrange(256) for _ in range(3)))
    img = Image.blend(sky, tint, 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(5):
        x, y = rnd.randrange(width), rnd.randrange(height)
        w, h = rnd.randrange(width // 6, width // 2), rnd.randrange(height // 6, height // 2)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def mp4(path: Path, seconds: int = 3) -> Path:
    """A small real H.264 video made with ffmpeg."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc=duration={seconds}:size=320x240:rate=10",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path
