"""``medianest up``: every service (and the inference workers) on one machine, embedded defaults.

A small supervisor: it prepares the machine accounts the services need, starts each service as
its own process in dependency order (authentication first, since the others fetch its public
key), prints where everything is, and on Ctrl-C / SIGTERM stops them all cleanly (SIGTERM, then
SIGKILL after a grace period). If one process dies, the rest are stopped too and the exit code
is non-zero, so a process manager above us can restart the set.
"""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import httpx
import typer

from medianest.cli.services import SERVICES, ServiceName, service_available
from medianest.common.demo import refusal
from medianest.common.settings import CommonSettings

GRACE_S = 20.0
INFERENCE_ACCOUNT = "medianest-inference"
WORKER_ACCOUNT = "medianest-worker"
SERVICE_PERMISSIONS = ["media_store_read", "ai_inference_worker"]
URL_VARS = {
    ServiceName.authentication: "MEDIANEST_AUTH_URL",
    ServiceName.media_store: "MEDIANEST_MEDIA_STORE_URL",
    ServiceName.inference: "MEDIANEST_INFERENCE_URL",
    ServiceName.web: "MEDIANEST_WEB_URL",  # last: it fronts the others
}


@dataclass
class Supervisor:
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopping: bool = False

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        cmd = [sys.executable, "-m", "medianest", *args]
        self.procs.append((name, subprocess.Popen(cmd, env=env, start_new_session=True)))

    def alive(self) -> str | None:
        """Name of the first process that has exited, or None when all run."""
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        self.stopping = True
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                typer.echo(f"{name} did not stop in {GRACE_S:.0f}s; killing it", err=True)
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def _service_accounts() -> dict[str, str]:
    """Create (or reset) the machine accounts and hand their credentials to the children."""
    bootstrap = importlib.import_module("medianest.authentication.bootstrap")
    settings = importlib.import_module("medianest.authentication.config").Settings()
    env: dict[str, str] = {}
    pw = bootstrap.ensure_service_account(settings, INFERENCE_ACCOUNT, SERVICE_PERMISSIONS)
    env.update(INFERENCE_SERVICE_USERNAME=INFERENCE_ACCOUNT, INFERENCE_SERVICE_PASSWORD=pw)
    pw = bootstrap.ensure_service_account(settings, WORKER_ACCOUNT, SERVICE_PERMISSIONS)
    env.update(MEDIANEST_WORKER_USERNAME=WORKER_ACCOUNT, MEDIANEST_WORKER_PASSWORD=pw)
    return env


def _base_env(host: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, var in URL_VARS.items():  # a URL set in the environment also picks the port
        env.setdefault(var, f"http://{host}:{SERVICES[name].port}")
    env["MEDIANEST_HOME"] = str(CommonSettings().home.resolve())
    return env


def _metrics_token(home: Path) -> str:
    """The scrape token for /metrics: kept in ``<data dir>/metrics-token`` (mode 0600)."""
    path = home / "metrics-token"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def _metrics_hint(env: dict[str, str]) -> str:
    where = "the MEDIANEST_METRICS_TOKEN you set"
    if not os.environ.get("MEDIANEST_METRICS_TOKEN"):
        where = f"{env['MEDIANEST_HOME']}/metrics-token"
    return f"metrics token: {where} (an admin access token works too)"


def _admin_hint(env: dict[str, str]) -> str:
    if os.environ.get("AUTH_ADMIN_PASSWORD"):
        return "admin password: the AUTH_ADMIN_PASSWORD you set"
    return f"admin password: in {env['MEDIANEST_HOME']}/admin-password (mode 0600)"


def _planned(env: dict[str, str]) -> list[tuple[ServiceName, int]]:
    """The services this host can run, with their ports (known before any of them starts)."""
    return [
        (name, urlparse(env[var]).port or SERVICES[name].port)
        for name, var in URL_VARS.items()
        if service_available(name)
    ]


def _banner(env: dict[str, str], host: str, workers: int) -> str:
    lines = ["MediaNest is starting:"]
    for name, port in _planned(env):
        url = f"http://{host}:{port}"
        if name is ServiceName.web:  # first: the address people open
            lines.insert(1, _web_line(url))
        else:
            lines.append(
                f"  {name.value:<15} {url}   (API docs: {url}/docs, metrics: {url}/metrics)"
            )
    if service_available(ServiceName.inference) and workers > 0:
        lines.append(f"  workers         {workers} process(es)")
    lines.append(f"  data dir        {env['MEDIANEST_HOME']}")
    lines.append(f"  {_admin_hint(env)}")
    lines.append(f"  {_metrics_hint(env)}")
    return "\n".join(lines)


def _web_line(url: str) -> str:
    dist = importlib.import_module("medianest.web.config").Settings().web_dist
    built = (dist / "index.html").is_file()
    hint = "open it in a browser" if built else "web app not built: run `make web`"
    return f"  {'web app':<15} {url}/   ({hint})"


def _start_services(sup: Supervisor, env: dict[str, str], host: str) -> None:
    for name, port in _planned(env):
        sup.start(name.value, ["serve", name.value, "--host", host, "--port", str(port)], env)
        url = f"http://{host}:{port}"
        if not _wait_healthy(url, sup.procs[-1][1]):
            raise RuntimeError(f"{name.value} did not become healthy at {url}")


def _refuse_public_demo(env: dict[str, str], host: str) -> None:
    """Demo mode (no auth) only on loopback: say so before starting anything."""
    settings = CommonSettings(
        bind_host=host,
        auth_url=env[URL_VARS[ServiceName.authentication]],
        media_store_url=env[URL_VARS[ServiceName.media_store]],
        inference_url=env[URL_VARS[ServiceName.inference]],
    )
    if (reason := refusal(settings)) is not None:
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(2)


def up(
    host: Annotated[str, typer.Option(help="Interface the services bind to")] = "127.0.0.1",
    workers: Annotated[
        int | None, typer.Option(help="Inference worker processes (default: CPU count)")
    ] = None,
) -> None:
    """Start every service and the inference workers; Ctrl-C stops them all."""
    env = _base_env(host)
    _refuse_public_demo(env, host)  # before anything is written to the data dir
    if not env.get("MEDIANEST_METRICS_TOKEN"):
        env["MEDIANEST_METRICS_TOKEN"] = _metrics_token(Path(env["MEDIANEST_HOME"]))
    count = workers if workers is not None else (os.cpu_count() or 1)
    # the banner comes first, before any child process logs a line
    typer.echo(_banner(env, host, count))
    sys.stdout.flush()
    if service_available(ServiceName.authentication):
        env.update(_service_accounts())
    sup = Supervisor()
    stop = lambda *_: sup.stop()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    try:
        _start_services(sup, env, host)
        if service_available(ServiceName.inference) and count > 0:
            sup.start("worker", ["worker", "--concurrency", str(count)], env)
        typer.echo("MediaNest is up (addresses above). Press Ctrl-C to stop.")
        while not sup.stopping and (dead := sup.alive()) is None:
            time.sleep(0.5)
        if not sup.stopping:
            typer.echo(f"{dead} exited unexpectedly; stopping the others", err=True)
            sup.stop()
            raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("stopping ...")
        sup.stop()
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        sup.stop()
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    app.command()(up)
