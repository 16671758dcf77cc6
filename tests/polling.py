"""Waiting for a condition in tests: a correctness deadline, never a speed requirement."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


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
