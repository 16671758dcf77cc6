"""Web timeline in a real browser: time to the first thumbnails and a scroll to the bottom.

N entities (default 100k over ~3 years, ThumbHash placeholders) are bulk-inserted behind a real
media store and web server (`medianest serve web` serving web/dist); Debian's Chromium opens the
timeline and we measure, in the page:

- first rows: navigation start until the first thumbnails are laid out (placeholders painted;
  the seeded rows have no files, so the images themselves 404: what is timed is the app);
- the bottom: from the top, jump to the end of the page until the oldest month is rendered;
- the DOM size and JS heap at the top and at the bottom (virtualisation keeps both flat);
- stepping down 30 screens, one wheel turn at a time: time per step.

Baseline in the same run: the same measurements with 1,000 entities.
The auth service is not started: the page's `/api/auth/users/me` is answered by the browser test
harness (reads need no token; the timeline is what is measured).

Usage: python bench/web_browser.py [--entities 100000]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import json
import shutil
import tempfile
import time
from typing import Any

from ingest import make_key, seed_entities, token
from web_timeline import add_placeholders, serve

from medianest.media_store.db import migrate

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "web" / "dist"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ME = {"id": 1, "username": "bench", "is_active": True, "is_admin": True, "permissions": [],
      "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip


def dom_stats(page: Any) -> dict[str, int]:
    return dict(
        page.evaluate(
            """() => ({nodes: document.getElementsByTagName('*').length,
                   thumbs: document.querySelectorAll('.thumb').length,
                   heap: (performance.memory || {}).usedJSHeapSize || 0})"""
        )
    )


def measure(page: Any, web: str, auth: str) -> dict[str, Any]:
    session = {"access_token": auth, "refresh_token": "x", "expires_at": 4102444800000}
    page.route("**/api/auth/users/me", lambda r: r.fulfill(json=ME))
    page.goto(f"{web}/login")
    page.evaluate("s => localStorage.setItem('medianest.session', s)", json.dumps(session))
    page.goto(f"{web}/")
    page.wait_for_function("() => document.querySelector('.thumb')", timeout=120_000)
    first_ms = page.evaluate("() => performance.now()")
    top = dom_stats(page)
    started = time.perf_counter()
    page.evaluate(
        """async () => {
          const oldest = () => { const s = document.querySelectorAll('section[data-month]');
                                 return s[s.length - 1]; };
          for (let i = 0; i < 400; i++) {
            window.scrollTo(0, document.documentElement.scrollHeight);
            await new Promise(r => setTimeout(r, 50));
            const last = oldest();
            if (last && last.querySelector('.thumb')
                && innerHeight + scrollY >= document.documentElement.scrollHeight - 2) return;
          }
          throw new Error('never reached the bottom');
        }"""
    )
    bottom_s = time.perf_counter() - started
    bottom = dom_stats(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(500)
    steps = []
    for _ in range(30):
        t = time.perf_counter()
        page.mouse.wheel(0, 860)
        page.wait_for_function("() => document.querySelector('.thumb')")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(0)))")
        steps.append((time.perf_counter() - t) * 1000)
    steps.sort()
    return {"first_ms": first_ms, "bottom_s": bottom_s, "top": top, "bottom": bottom,
            "step_p50": steps[len(steps) // 2], "step_max": steps[-1]}  # fmt: skip


def run(root: Path, key_path: Path, auth: str, count: int, browser: Any) -> dict[str, Any]:
    db_url = f"sqlite:///{root / f'web-{count}.db'}"
    migrate(db_url)
    seed_entities(db_url, count)
    add_placeholders(db_url)
    store_env = {
        "MEDIANEST_HOME": str(root / f"home-{count}"),
        "MEDIANEST_PUBLIC_KEY_PATH": str(key_path),
        "MEDIA_STORE_DATABASE_URL": db_url,
    }
    with serve("media_store", store_env) as store:
        web_env = {"MEDIANEST_MEDIA_STORE_URL": store, "MEDIANEST_WEB_DIST": str(root / "dist")}
        with serve("web", web_env) as web:
            ctx = browser.new_context(viewport={"width": 1280, "height": 860})
            try:
                return measure(ctx.new_page(), web, auth)
            finally:
                ctx.close()


def show(count: int, r: dict[str, Any]) -> None:
    mib = 1024 * 1024
    print(f"  {count:>7,} entities: first rows {r['first_ms']:6.0f} ms | bottom in "
          f"{r['bottom_s']:5.1f} s | DOM nodes top {r['top']['nodes']:5} bottom "
          f"{r['bottom']['nodes']:5} | thumbs in DOM {r['top']['thumbs']:4} / "
          f"{r['bottom']['thumbs']:4} | JS heap {r['top']['heap'] / mib:5.1f} / "
          f"{r['bottom']['heap'] / mib:5.1f} MiB | wheel step p50 {r['step_p50']:5.0f} ms "
          f"max {r['step_max']:5.0f} ms")  # fmt: skip


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        sys.exit("web/dist is missing: run `make web` first")
    with tempfile.TemporaryDirectory(prefix="medianest-bench-browser-") as tmp:
        root = Path(tmp)
        shutil.copytree(DIST, root / "dist")
        _key, key_path = make_key(root)
        auth = token(_key)
        print("\nweb timeline in Chromium (baseline: 1,000 entities, same run)")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for count in (1_000, args.entities):
                    show(count, run(root, key_path, auth, count, browser))
            finally:
                browser.close()


if __name__ == "__main__":
    main()
