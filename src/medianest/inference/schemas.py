"""Request and response bodies of the inference API.

The classes live in ``medianest.contracts.inference``; this module keeps the old import path.
"""

from medianest.contracts.inference import (
    ClaimedJob,
    ClaimRequest,
    ClaimResponse,
    CleanupResponse,
    CompleteRequest,
    FailRequest,
    HealthResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JobCreate,
    JobReport,
    JobResponse,
    JobStatus,
    ReportOutcome,
    ReportRequest,
    ReportResponse,
    StatsResponse,
    WorkerInfo,
)

__all__ = [
    "ClaimRequest",
    "ClaimResponse",
    "ClaimedJob",
    "CleanupResponse",
    "CompleteRequest",
    "FailRequest",
    "HealthResponse",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "JobCreate",
    "JobReport",
    "JobResponse",
    "JobStatus",
    "ReportOutcome",
    "ReportRequest",
    "ReportResponse",
    "StatsResponse",
    "WorkerInfo",
]
