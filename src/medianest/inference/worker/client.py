"""The worker's HTTP client of the inference API (claim, heartbeat, batched report).

Built on the SDK's request core: its retry policy (per call here), typed errors and the token
source as ``httpx.Auth``. Bodies and answers are the wire models of
:mod:`medianest.contracts.inference`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import httpx

from medianest.client._base import Call, RetryPolicy, parse_model
from medianest.client._sync_core import SyncCore
from medianest.client.errors import (
    Conflict,
    ConnectionFailed,
    MediaNestError,
    NotFound,
    ServerError,
)
from medianest.contracts.inference import (
    ClaimedJob,
    ClaimRequest,
    ClaimResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JobReport,
    ReportRequest,
    ReportResponse,
)

log = logging.getLogger("medianest.worker.client")
T = TypeVar("T")
REPORT_BATCH = 100  # the most /worker/report takes at once


def _retries(count: int) -> RetryPolicy:
    """``count`` retries after the first try (0.2 s, 0.4 s, ... apart), on outages and 5xx."""
    return RetryPolicy(
        attempts=count + 1, backoff=0.2, max_backoff=4.0, statuses=frozenset(range(500, 600))
    )


class ApiUnavailable(Exception):
    """The inference API could not be reached (or answered 5xx) after retries.

    No token to be had from the auth service counts too: a worker whose login or refresh fails
    (auth restarting, its database down) backs off and tries again instead of crashing.
    """


class InferenceClient:
    def __init__(self, base_url: str, auth: httpx.Auth | None, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._core = SyncCore(inference_url=base_url.rstrip("/"), timeout=timeout, auth=auth)

    def close(self) -> None:
        self._core.close()

    def claim(
        self, worker_id: str, task_types: list[str], max_jobs: int, wait_s: float
    ) -> list[ClaimedJob]:
        body = ClaimRequest(
            worker_id=worker_id, task_types=task_types, max_jobs=max_jobs, wait_s=wait_s
        )
        call = Call("POST", "inference", "/worker/claim", parse_model(ClaimResponse),
                    json=body.model_dump(), auth=False)  # fmt: skip
        try:
            return self._send(call, 0, wait_s + self._timeout).jobs
        except MediaNestError as exc:
            raise ApiUnavailable(f"claim answered {exc.status_code}: {exc.detail}") from exc

    def heartbeat(
        self, job_id: str, worker_id: str, attempt: int, progress: int | None
    ) -> HeartbeatResponse | None:
        """The new lease, or None when the lease is lost (409/404)."""
        body = HeartbeatRequest(worker_id=worker_id, attempt=attempt, progress=progress)
        call = Call("POST", "inference", f"/worker/jobs/{job_id}/heartbeat",
                    parse_model(HeartbeatResponse), json=body.model_dump(), idempotent=True,
                    auth=False)  # fmt: skip
        try:
            return self._send(call, 1)
        except (NotFound, Conflict):
            return None
        except MediaNestError as exc:
            raise ApiUnavailable(f"heartbeat answered {exc.status_code}") from exc

    def report(self, worker_id: str, reports: list[JobReport]) -> dict[str, bool]:
        """Send outcomes in one request per 100; job id -> accepted. A refused report is moot
        (the lease moved on); one that cannot be delivered is lost and its lease expires (the
        job runs again)."""
        accepted: dict[str, bool] = {}
        for start in range(0, len(reports), REPORT_BATCH):
            chunk = reports[start : start + REPORT_BATCH]
            body = ReportRequest(worker_id=worker_id, reports=chunk)
            call = Call("POST", "inference", "/worker/report", parse_model(ReportResponse),
                        json=body.model_dump(mode="json"), idempotent=True,
                        auth=False)  # fmt: skip
            try:
                answer = self._send(call, 5)
            except ApiUnavailable as exc:
                log.warning("report lost; the leases will expire", extra={"error": str(exc)})
                accepted.update((r.job_id, False) for r in chunk)
                continue
            except MediaNestError as exc:
                log.warning("report refused", extra={"status": exc.status_code,
                                                     "detail": str(exc.detail)[:300]})  # fmt: skip
                accepted.update((r.job_id, False) for r in chunk)
                continue
            for outcome in answer.outcomes:
                accepted[outcome.job_id] = outcome.accepted
                if not outcome.accepted:
                    log.info("report refused", extra={"job_id": outcome.job_id,
                                                      "detail": outcome.detail})  # fmt: skip
        return accepted

    def _send(self, call: Call[T], retries: int, timeout: float | None = None) -> T:
        """Send with ``retries`` retries; an outage (after them) is :class:`ApiUnavailable`."""
        try:
            return self._core.call(call, retry=_retries(retries), timeout=timeout)
        except (ConnectionFailed, ServerError) as exc:
            raise ApiUnavailable(f"{call.path}: {exc}") from exc
