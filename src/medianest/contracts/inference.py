"""Bodies of the inference API: jobs, the worker protocol (claim, heartbeat, report), admin."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medianest.contracts.health import HealthAuth
from medianest.contracts.ids import StoreId


class JobStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    completed = "completed"
    error = "error"
    cancelled = "cancelled"


class JobCreate(BaseModel):
    media_store_id: StoreId
    priority: int = Field(5, ge=0, le=10, description="0..10, higher runs first")


class JobResponse(BaseModel):
    """The seed's JobResponse plus the queue's bookkeeping. Times are epoch ms (UTC)."""

    model_config = ConfigDict(from_attributes=True)

    job_id: str
    task_type: str
    media_store_id: int
    status: JobStatus
    priority: int
    created_at: int
    started_at: int | None = None
    completed_at: int | None = None
    error_message: str | None = None
    result: dict[str, Any] | None = None
    attempts: int = 0
    max_attempts: int = 3
    progress: int = 0
    worker_id: str | None = None
    run_after: int | None = None
    cancel_requested: bool = False


class ClaimRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)
    task_types: list[str] | None = None
    max_jobs: int = Field(1, ge=1, le=1000)
    wait_s: float = Field(0.0, ge=0, le=60, description="Long-poll up to this long")


class ClaimedJob(BaseModel):
    job_id: str
    task_type: str
    media_store_id: int
    priority: int
    attempts: int
    max_attempts: int
    lease_expires_at: int
    lease_s: float


class ClaimResponse(BaseModel):
    jobs: list[ClaimedJob]


class HeartbeatRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)
    attempt: int | None = Field(
        None, description="The claim's attempt number (guards late reports)"
    )
    progress: int | None = Field(None, ge=0, le=100)


class HeartbeatResponse(BaseModel):
    lease_expires_at: int
    cancel_requested: bool


class CompleteRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)
    attempt: int | None = None
    result: Any = None


class FailRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)
    attempt: int | None = None
    error: str = Field(max_length=10_000)
    retryable: bool = True


class JobReport(BaseModel):
    """One job's outcome in a batched report: ``error`` set means failed, else completed."""

    job_id: str = Field(min_length=1, max_length=64)
    attempt: int | None = None
    result: Any = None
    error: str | None = Field(None, max_length=10_000)
    retryable: bool = True


class ReportRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)
    reports: list[JobReport] = Field(min_length=1, max_length=100)


class ReportOutcome(BaseModel):
    job_id: str
    accepted: bool
    status: JobStatus | None = Field(None, description="the job's status after the report")
    detail: str | None = Field(None, description="why a report was refused (lease lost)")


class ReportResponse(BaseModel):
    outcomes: list[ReportOutcome]


class WorkerInfo(BaseModel):
    worker_id: str
    first_seen_at: int
    last_seen_at: int


class StatsResponse(BaseModel):
    counts: dict[str, int]
    queue_depth: int
    ready: int
    oldest_pending_age_s: float | None
    workers: list[WorkerInfo]


class CleanupResponse(BaseModel):
    deleted: dict[str, int]
    total: int


class HealthResponse(HealthAuth):
    status: str
    database: str
    vector_store: str
    media_store: str
    queue_depth: int | None
