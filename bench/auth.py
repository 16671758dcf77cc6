"""Benchmark: cost of token verification + permission check, and logins per second.

Starts two real uvicorn servers on free loopback ports, each in its own process:

* the real authentication service (production argon2 defaults) - for logins and a real token;
* a small app built from ``medianest.common`` (``build_app`` + ``TokenVerifier`` + the
  ``require_permission`` dependency) exposing the same trivial handler twice: ``/open`` with no
  auth and ``/protected`` behind ``media_store_read``.

The load runs in a separate process (asyncio + httpx, keep-alive, N concurrent clients, fixed
duration). Open and protected rounds alternate so both see the same machine conditions.
Prints req/s for each, the ratio (goal: protected >= 70% of open), and logins/s.

Usage: python bench/auth.py [--duration 5] [--rounds 2] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends

from medianest.common.app import build_app, no_lifespan, token_verifier_for
from medianest.common.permissions import Permission
from medianest.common.security import TokenUser, require_permission
from medianest.common.settings import CommonSettings

Reader = Annotated[TokenUser, Depends(require_permission(Permission.MEDIA_STORE_READ))]
ADMIN_PASSWORD = "bench-admin-password"


# --------------------------------------------------------------------------- the bench app


def create_bench_app() -> Any:
    """The app under test: one trivial handler, unprotected and protected (uvicorn factory)."""
    settings = CommonSettings()
    app = build_app("bench", settings, no_lifespan)
    app.state.token_verifier = token_verifier_for(settings)

    @app.get("/open")
    def open_endpoint() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/protected")
    def protected_endpoint(_: Reader) -> dict[str, bool]:
        return {"ok": True}

    return app


# --------------------------------------------------------------------------- load process


async def _load(
    url: str, method: str, duration: float, concurrency: int, kw: dict[str, Any]
) -> Any:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counts = {"ok": 0, "err": 0}
    deadline = time.perf_counter() + duration

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            resp = await client.request(method, url, **kw)
            counts["ok" if resp.status_code == 200 else "err"] += 1

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await client.request(method, url, **kw)  # warm the connection path
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"rps": counts["ok"] / elapsed, "errors": counts["err"], "requests": counts["ok"]}


def load_main(spec: str) -> None:
    """Entry point of the load process: run one spec (JSON) and print the result as JSON."""
    s = json.loads(spec)
    result = asyncio.run(_load(s["url"], s["method"], s["duration"], s["concurrency"], s["kw"]))
    print(json.dumps(result))


def run_load(url: str, duration: float, concurrency: int, method: str = "GET", **kw: Any) -> Any:
    spec = {"url": url, "method": method, "duration": duration, "concurrency": concurrency}
    spec["kw"] = kw
    out = subprocess.run(
        [sys.executable, __file__, "--load", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(target: str, env: dict[str, str], app_dir: Path | None = None) -> tuple[Any, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    proc = subprocess.Popen(cmd, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/", timeout=1).status_code < 500:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"server {target} did not start")


def stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# --------------------------------------------------------------------------- main


def bench(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    env = {
        "MEDIANEST_HOME": str(home),
        "AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_LOG_LEVEL": "WARNING",
    }
    auth, auth_url = start_server("medianest.authentication.app:create_app", env)
    procs = [auth]
    try:
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        token = httpx.post(auth_url + "/auth/token", data=form).json()["access_token"]
        key_env = {**env, "MEDIANEST_PUBLIC_KEY_PATH": str(home / "keys" / "auth-public.pem")}
        app, app_url = start_server("auth:create_bench_app", key_env, Path(__file__).parent)
        procs.append(app)
        headers = {"Authorization": f"Bearer {token}"}
        probe = httpx.get(app_url + "/protected", headers=headers)
        assert probe.status_code == 200, probe.text
        assert httpx.get(app_url + "/protected").status_code == 401
        results: dict[str, list[float]] = {"open": [], "protected": []}
        for _ in range(args.rounds):
            for name, kw in (("open", {}), ("protected", {"headers": headers})):
                r = run_load(f"{app_url}/{name}", args.duration, args.concurrency, **kw)
                results[name].append(r["rps"])
        logins = run_load(auth_url + "/auth/token", args.duration, 4, "POST", data=form)
    finally:
        for proc in procs:
            stop(proc)
    return {"results": results, "logins": logins}


def report(out: dict[str, Any], args: argparse.Namespace) -> None:
    open_rps = statistics.mean(out["results"]["open"])
    prot_rps = statistics.mean(out["results"]["protected"])
    ratio = prot_rps / open_rps
    print(
        f"cpus: {os.cpu_count()}, duration {args.duration}s x {args.rounds} rounds, "
        f"{args.concurrency} concurrent clients, 1 uvicorn worker"
    )
    print(f"unprotected  GET /open      : {open_rps:8.0f} req/s  {out['results']['open']}")
    print(f"protected    GET /protected : {prot_rps:8.0f} req/s  {out['results']['protected']}")
    verdict = "met" if ratio >= 0.7 else "MISSED"
    print(f"ratio protected/unprotected : {ratio:.2f}  (goal >= 0.70: {verdict})")
    logins = out["logins"]
    print(
        f"logins (argon2id t=3 m=64MiB p=4, 4 clients): {logins['rps']:.1f} /s "
        f"({logins['requests']} ok, {logins['errors']} errors)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_main(args.load)
        return
    with tempfile.TemporaryDirectory(prefix="medianest-bench-auth-") as tmp:
        report(bench(args, Path(tmp)), args)


if __name__ == "__main__":
    main()
