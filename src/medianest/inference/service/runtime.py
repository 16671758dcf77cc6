"""What services need besides the session: settings, the store client, sink resources."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from medianest.common.errors import BadRequest
from medianest.inference.config import Settings
from medianest.inference.store_client import StoreClient
from medianest.inference.tasks import Resources, TaskType, get_task


@dataclass
class Runtime:
    settings: Settings
    store: StoreClient | None
    resources: Resources
    _reap_lock: threading.Lock = field(default_factory=threading.Lock)
    _last_reap: float = 0.0
    _seen: dict[str, float] = field(default_factory=dict)
    background: dict[str, Any] = field(default_factory=dict)
    """Long-running API-side work (e.g. the people regroup), by name."""

    @property
    def lease_ms(self) -> int:
        return int(self.settings.lease_s * 1000)

    def task(self, name: str) -> TaskType:
        task = get_task(name, enable_test=self.settings.enable_test_tasks)
        if task is None:
            raise BadRequest(f"unknown task type: {name}")
        return task

    def touch_due(self, worker_id: str, min_interval_s: float = 2.0) -> bool:
        """True when ``worker_id`` was not recorded as seen in the last ``min_interval_s``."""
        now = time.monotonic()
        if now - self._seen.get(worker_id, 0.0) < min_interval_s:
            return False
        if len(self._seen) > 10_000:  # bounded: ids of long-gone workers are forgotten
            self._seen.clear()
        self._seen[worker_id] = now
        return True

    def reap_due(self, min_interval_s: float = 1.0) -> bool:
        """True at most once per ``min_interval_s`` (opportunistic reaping before claims)."""
        with self._reap_lock:
            now = time.monotonic()
            if now - self._last_reap < min_interval_s:
                return False
            self._last_reap = now
            return True
