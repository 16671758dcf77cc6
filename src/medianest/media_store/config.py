"""Media store settings (``MEDIA_STORE_*`` plus the shared ``MEDIANEST_*`` fields)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from medianest.common.settings import CommonSettings
from medianest.media_store.storage import FileStorage, Storage

GIB = 1024**3


class VideoStreams(StrEnum):
    """When HLS streams are made: at upload, at the first play, or never."""

    eager = "eager"
    on_play = "on_play"
    off = "off"


class Settings(CommonSettings):
    """Configuration of the media store service."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIA_STORE_", extra="ignore", populate_by_name=True
    )

    database_url: str | None = None
    max_upload_bytes: int = 4 * GIB
    max_field_bytes: int = 64 * 1024
    read_auth_cache_s: float = 3.0
    sweep_on_start: bool = True
    sweep_min_age_s: float = 900.0
    exiftool_path: str = "exiftool"
    exiftool_timeout_s: float = 20.0
    near_duplicate_distance: int = 8
    sse_keepalive_s: float = 15.0
    audit_interval_h: float = Field(168.0, ge=0)  # integrity audit period; 0 turns it off
    video_streams: VideoStreams = VideoStreams.on_play
    video_stream_heights: list[int] = Field(default_factory=lambda: [480, 1080], min_length=1)
    video_stream_workers: int = Field(default=1, ge=1, le=16)
    video_stream_attempts: int = Field(default=3, ge=1, le=10)
    video_stream_timeout_s: float = Field(default=3600.0, gt=0)
    # None: files in <data dir>/media_store; s3://bucket/prefix: an S3-compatible bucket
    storage_url: str | None = None
    s3_part_size_mib: int = Field(16, ge=5, le=1024)
    s3_presigned_downloads: bool = False
    s3_presign_ttl_s: int = Field(300, ge=1, le=7 * 24 * 3600)

    def db_url(self) -> str:
        return self.database_url or self.sqlite_url("media_store.db")

    def store_root(self) -> Path:
        return self.data_dir("media_store")

    def open_storage(self) -> FileStorage:
        """The configured file storage (S3 imports boto3 only when used)."""
        if self.storage_url and self.storage_url.startswith("s3://"):
            from medianest.media_store.storage_s3 import S3Storage

            return S3Storage(
                self.storage_url,
                self.store_root(),
                self.s3_part_size_mib,
                self.s3_presigned_downloads,
                self.s3_presign_ttl_s,
            )
        if self.storage_url:
            raise ValueError(
                f"MEDIA_STORE_STORAGE_URL must be s3://bucket/prefix: {self.storage_url!r}"
            )
        return Storage(self.store_root())
