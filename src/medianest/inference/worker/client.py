"""The worker's HTTP client of the inference API (claim, heartbeat, complete, fail)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from medianest.inference.auth_client import AuthError, TokenSource

log = logging.getLogger("medianest.worker.client")
_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)
REPORT_BATCH = 100  # the most /worker/report takes at once


class ApiUnavailable(Exception):
    """The inference API could not be reached (or answered 5xx) after retries.

    No token to be had from the auth service counts too: a worker whose login or refresh fails
    (auth restarting, its database down) backs off and tries again instead of crashing.
    """


class InferenceClient:
    def __init__(self, base_url: str, auth: TokenSource | None, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._client = httpx.Client(base_url=base_url.rstrip("/"), auth=auth, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def claim(
        self, worker_id: str, task_types: list[str], max_jobs: int, wait_s: float
    ) -> list[dict[str, Any]]:
        body = {"worker_id": worker_id, "task_types": task_types, "max_jobs": max_jobs,
                "wait_s": wait_s}  # fmt: skip
        resp = self._post("/worker/claim", body, timeout=wait_s + self._timeout, retries=0)
        if resp.status_code != 200:
            raise ApiUnavailable(f"claim answered {resp.status_code}: {resp.text[:200]}")
        jobs: list[dict[str, Any]] = resp.json()["jobs"]
        return jobs

    def heartbeat(
        self, job_id: str, worker_id: str, attempt: int, progress: int | None
    ) -> dict[str, Any] | None:
        """The new lease, or None when the lease is lost (409/404)."""
        body = {"worker_id": worker_id, "attempt": attempt, "progress": progress}
        resp = self._post(f"/worker/jobs/{job_id}/heartbeat", body, retries=1)
        if resp.status_code in (404, 409):
            return None
        if resp.status_code != 200:
            raise ApiUnavailable(f"heartbeat answered {resp.status_code}")
        data: dict[str, Any] = resp.json()
        return data

    def report(self, worker_id: str, reports: list[dict[str, Any]]) -> dict[str, bool]:
        """Send outcomes (``job_id``, ``attempt`` and ``result`` or ``error``/``retryable``) in
        one request per 100; job id -> accepted. A refused report is moot (the lease moved on);
        one that cannot be delivered is lost and its lease expires (the job runs again)."""
        accepted: dict[str, bool] = {}
        for start in range(0, len(reports), REPORT_BATCH):
            chunk = reports[start : start + REPORT_BATCH]
            body = {"worker_id": worker_id, "reports": chunk}
            try:
                resp = self._post("/worker/report", body, retries=len(_RETRY_DELAYS))
            except ApiUnavailable as exc:
                log.warning("report lost; the leases will expire", extra={"error": str(exc)})
                accepted.update((r["job_id"], False) for r in chunk)
                continue
            if resp.status_code != 200:
                log.warning("report refused", extra={"status": resp.status_code,
                                                     "detail": resp.text[:300]})  # fmt: skip
                accepted.update((r["job_id"], False) for r in chunk)
                continue
            for outcome in resp.json()["outcomes"]:
                accepted[outcome["job_id"]] = outcome["accepted"]
                if not outcome["accepted"]:
                    log.info("report refused", extra={"job_id": outcome["job_id"],
                                                      "detail": outcome.get("detail")})  # fmt: skip
        return accepted

    def _post(
        self, path: str, body: dict[str, Any], *, retries: int, timeout: float | None = None
    ) -> httpx.Response:
        for attempt in range(retries + 1):
            try:
                resp = self._client.post(path, json=body, timeout=timeout or self._timeout)
                if resp.status_code < 500 or attempt == retries:
                    return resp
            except (httpx.HTTPError, AuthError) as exc:
                if attempt == retries:
                    raise ApiUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc
            time.sleep(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)])
        raise ApiUnavailable(path)  # pragma: no cover - loop always returns or raises
