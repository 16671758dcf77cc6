"""Settings of the inference API (``INFERENCE_*``) and of its workers (``MEDIANEST_WORKER_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from medianest.common.settings import CommonSettings


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def split_names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Settings(CommonSettings):
    """The inference API: database, queue tuning, change-feed follower, service credentials."""

    model_config = SettingsConfigDict(
        env_prefix="INFERENCE_", extra="ignore", populate_by_name=True
    )

    database_url: str | None = None
    lease_s: float = Field(30.0, gt=0, description="Lease granted per claim / heartbeat")
    max_attempts: int = Field(3, ge=1, description="Claims before a job stays in error")
    max_run_s: float = Field(
        900.0, gt=0, description="A job held longer than this (a hung task) is taken back"
    )
    retry_base_s: float = Field(2.0, ge=0, description="Backoff base: base * 2^(attempts-1)")
    reaper_interval_s: float = Field(5.0, gt=0)
    claim_max_wait_s: float = Field(20.0, ge=0, description="Longest long-poll of /worker/claim")
    claim_max_jobs: int = Field(100, ge=1)
    check_media_exists: bool = Field(True, description="Ask the store before queueing a job")
    store_timeout_s: float = 5.0
    service_token: str | None = None
    service_username: str | None = None
    service_password: str | None = None
    auto_pipeline: bool = True
    pipeline_tasks: str = "face_embedding,image_embedding"
    follower_enabled: bool = Field(True, description="Follow the store's change feed")
    follower_poll_s: float = Field(5.0, gt=0)
    follower_batch: int = Field(100, ge=1, le=1000)
    follower_max_backoff_s: float = 60.0
    follower_sse: bool = Field(True, description="Wake the follower from the store's SSE feed")
    enable_test_tasks: bool = Field(False, description="TEST ONLY: register noop/sleep tasks")
    qdrant_url: str | None = Field(None, description="Qdrant server; unset: embedded store")
    qdrant_api_key: str | None = None
    vector_optimize_after: int = Field(5000, ge=1, description="Unindexed upserts before optimize")
    vector_optimize_interval_s: float = Field(600.0, ge=0, description="Min time between optimizes")
    person_max_distance: float = Field(
        0.5, gt=0, lt=2, description="SFace cosine distance within which faces are one person"
    )
    person_min_faces: int = Field(3, ge=1, description="Close unassigned faces to found a person")
    person_neighbours: int = Field(32, ge=2, le=1000, description="Neighbours looked at per face")
    person_batch: int = Field(1000, ge=1, description="Faces grouped per grouping job")

    @property
    def pipeline(self) -> list[str]:
        return split_names(self.pipeline_tasks)

    def db_url(self) -> str:
        return self.database_url or self.sqlite_url("inference.db")


class ModelSettings(BaseSettings):
    """Which models the ML tasks run (``INFERENCE_*``), read by workers and by the API alike.

    The API never loads a model: it needs only the identity (name, version, dimension) of the
    active image embedder to pick its vector collection, hence ``image_embedder_dim`` is
    required with the ``onnx`` backend.
    """

    model_config = SettingsConfigDict(
        env_prefix="INFERENCE_", extra="ignore", populate_by_name=True
    )

    face_min_score: float = Field(0.6, ge=0, le=1, description="YuNet score threshold")
    face_min_size: int = Field(20, ge=1, description="Smallest face side, original pixels")
    image_embedder: str = Field(
        "efficientnet-lite0",
        description="efficientnet-lite0 (ONNX Runtime) | efficientnet-lite0-torch | onnx",
    )
    image_embedder_path: str | None = Field(None, description="ONNX file (onnx backend)")
    image_embedder_name: str | None = Field(None, description="Model name recorded with vectors")
    image_embedder_version: str = "1"
    image_embedder_dim: int | None = Field(None, ge=1, description="Output size (onnx backend)")
    image_embedder_input_size: int = Field(224, ge=16)
    labels_top_k: int = Field(5, ge=1, le=50)
    label_min_probability: float = Field(0.02, ge=0, le=1, description="Drop rarer labels")
    model_dir: str | None = Field(
        None, description="Where exported model graphs are kept (default: <home>/models)"
    )
    torch_threads: int | None = Field(
        None, ge=1, description="Model threads per worker process (default: cores / processes)"
    )


class WorkerSettings(CommonSettings):
    """A worker process: where the APIs are and how it authenticates (never a database)."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIANEST_WORKER_", extra="ignore", populate_by_name=True
    )

    token: str | None = None
    username: str | None = None
    password: str | None = None
    concurrency: int = Field(1, ge=1)
    batch: int = Field(8, ge=1)
    claim_wait_s: float = Field(5.0, ge=0, description="Long-poll per claim (< shutdown grace)")
    grace_s: float = Field(15.0, ge=0, description="SIGTERM: time to finish jobs in hand")
    http_timeout_s: float = 30.0
    store_outage_wait_s: float = Field(
        120.0, ge=0, description="How long a job in hand waits for an unavailable store"
    )
    task_types: str = ""
    enable_test_tasks: bool = Field(False, validation_alias=_alias("INFERENCE_ENABLE_TEST_TASKS"))
