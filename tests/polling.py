"""Waiting for a condition in tests: a correctness deadline, never a speed requirement."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_until(
    check: Callable[[], Any],
    what: str = "the condition",
    timeout: float = 10.0,
    context: Callable[[], str] | None = None,
    interval: float = 0.1,
) -> Any:
    """Poll ``check`` until it returns something truthy and return that; fail after ``timeout``
    seconds with ``what`` and, if given, ``context()`` (e.g. the tail of the service logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{context()}" if context is not None else ""
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")


def wait_http_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 60.0,
    log: Callable[[], str] | None = None,
) -> None:
    """Wait until ``url`` answers below 500; fail at once if ``proc`` (the server) exits."""

    def ready() -> bool:
        if proc.poll() is not None:
            tail = f":\n{log()}" if log is not None else ""
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}{tail}")
        try:
            return httpx.get(url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(ready, f"{url} to answer", timeout, log, interval=0.1)
