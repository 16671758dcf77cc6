"""Login throttling: an in-process sliding window of failures per username and per address.

After ``max_per_username`` failures for one username within ``window_s`` (default 5 in 5 min),
or ``max_per_address`` failures from one client address (default 20), further attempts get 429
with ``Retry-After`` until the oldest failure leaves the window, even with the right password.
A successful login clears the username's failures; other usernames and addresses are never
slowed. The state lives in this process only: a deployment with several auth processes or hosts
would move these counters to the database or Redis (the interface stays the same).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from medianest.common.errors import TooManyRequests

_MAX_KEYS = 100_000  # bound memory under a spray of random usernames


class LoginThrottle:
    def __init__(
        self,
        window_s: float = 300.0,
        max_per_username: int = 5,
        max_per_address: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.limits = {"user": max_per_username, "addr": max_per_address}
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("user", f"user:{username.lower()}")]
        if address:
            keys.append(("addr", f"addr:{address}"))
        return keys

    def retry_after(self, username: str, address: str | None) -> int | None:
        """Seconds to wait if either key is over its limit, else None."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for kind, key in self._keys(username, address):
                window = self._window(key, now)
                if window is not None and len(window) >= self.limits[kind]:
                    wait = max(wait, window[0] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def check(self, username: str, address: str | None) -> None:
        """Raise 429 (with ``Retry-After``) while the username or the address is locked out."""
        wait = self.retry_after(username, address)
        if wait is not None:
            raise TooManyRequests(
                "too many failed attempts, retry later", headers={"Retry-After": str(wait)}
            )

    def record_failure(self, username: str, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._prune(now)
            for _, key in self._keys(username, address):
                self._failures.setdefault(key, deque()).append(now)

    def reset(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

    def _window(self, key: str, now: float) -> deque[float] | None:
        window = self._failures.get(key)
        if window is None:
            return None
        while window and window[0] <= now - self.window_s:
            window.popleft()
        if not window:
            del self._failures[key]
            return None
        return window

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._window(key, now)
        if len(self._failures) >= _MAX_KEYS:  # still full of live entries: forget the oldest
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in oldest[: _MAX_KEYS // 10]:
                del self._failures[key]
