"""Log format follows where the output goes: readable lines on a terminal (a real pty), JSON lines
into a pipe or file or when ``MEDIANEST_LOG_JSON=true``; the ``medianest up`` banner comes first.
Secrets stay redacted in both formats."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medianest.common.logging import HumanFormatter, request_id_var, wants_json
from tests.inference.standin import free_port

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0abc.c2lnbmF0dXJlc2lnbmF0dXJl"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIANEST_", "AUTH_"))}
    env.update(MEDIANEST_HOME=str(home), AUTH_ADMIN_PASSWORD="terminal-test-password", **extra)
    return env


def _run_in_pty(args: list[str], env: dict[str, str], until: str, timeout: float = 120) -> str:
    """Run ``medianest args`` with stdout and stderr on a pseudo-terminal until ``until`` shows;
    then SIGINT it and return everything it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "medianest", *args],
        env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while until.encode() not in out and time.monotonic() < deadline:
            if proc.poll() is not None and not select.select([master], [], [], 0)[0]:
                break
            if select.select([master], [], [], 0.5)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        os.close(master)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert until in text, f"{until!r} not seen:\n{text[-3000:]}"
    return text


def test_human_formatter_shows_extras_and_redacts_secrets() -> None:
    record = logging.makeLogRecord(
        {"name": "medianest.access", "levelname": "INFO", "msg": "request",
         "path": "/x", "status": 200, "authorization": f"Bearer {TOKEN}"}
    )  # fmt: skip
    token = request_id_var.set("0123456789abcdef")
    try:
        line = HumanFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "medianest.access  request" in line
    assert "path=/x status=200" in line
    assert "request_id=01234567" in line
    assert TOKEN not in line
    assert not line.startswith("{")


def test_json_unless_terminal_and_explicit_choice_wins() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_json(None, io.StringIO()) is True
    assert wants_json(None, Tty()) is False
    assert wants_json(True, Tty()) is True
    assert wants_json(False, io.StringIO()) is False


@pytest.mark.integration
def test_service_on_a_terminal_logs_readable_lines(tmp_path: Path) -> None:
    port = str(free_port())
    text = _run_in_pty(
        ["serve", "authentication", "--port", port], _env(tmp_path), "Application startup complete"
    )
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    assert not any(line.lstrip().startswith("{") for line in lines), text
    assert any("INFO" in line and "uvicorn.error" in line for line in lines), text


@pytest.mark.integration
def test_service_on_a_terminal_logs_json_when_asked(tmp_path: Path) -> None:
    port = str(free_port())
    env = _env(tmp_path, MEDIANEST_LOG_JSON="true")
    text = _run_in_pty(["serve", "authentication", "--port", port], env, "startup complete")
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(r["msg"] == "Application startup complete." for r in records), text


@pytest.mark.integration
def test_service_into_a_pipe_logs_json(tmp_path: Path) -> None:
    port = str(free_port())
    proc = subprocess.Popen(
        [sys.executable, "-m", "medianest", "serve", "authentication", "--port", port],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace").strip())
            if "startup complete" in lines[-1]:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert lines
    assert all(line.startswith("{") for line in lines if line), lines
    assert json.loads(lines[-1])["level"] == "INFO"


@pytest.mark.integration
@pytest.mark.slow
def test_up_prints_its_banner_before_any_log_line(tmp_path: Path) -> None:
    urls = {
        var: f"http://127.0.0.1:{free_port()}"
        for var in ("MEDIANEST_AUTH_URL", "MEDIANEST_MEDIA_STORE_URL", "MEDIANEST_INFERENCE_URL")
    }
    home = tmp_path / "data"
    text = _run_in_pty(["up", "--workers", "0"], _env(home, **urls), "Press Ctrl-C to stop.", 180)
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "MediaNest is starting:", text[:2000]
    banner = "\n".join(lines[:8])
    for url in urls.values():
        assert f"{url}/metrics" in banner
    assert f"data dir        {home.resolve()}" in banner
    assert "admin password:" in banner
    assert f"metrics token: {home.resolve()}/metrics-token" in banner
    assert not any(line.lstrip().startswith("{") for line in lines), "JSON on a terminal"
    assert "terminal-test-password" not in text
