"""Every permission string MediaNest knows, with what it grants (GET /auth/permissions)."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    MEDIA_STORE_READ = "media_store_read"
    MEDIA_STORE_WRITE = "media_store_write"
    AI_INFERENCE_SUPPORT = "ai_inference_support"
    AI_INFERENCE_WORKER = "ai_inference_worker"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.MEDIA_STORE_READ: "Read entities, files and metadata when read-auth is on.",
    Permission.MEDIA_STORE_WRITE: "Upload, change, trash and delete entities in the media store.",
    Permission.AI_INFERENCE_SUPPORT: "Queue, inspect and cancel inference jobs; use search.",
    Permission.AI_INFERENCE_WORKER: "Claim and report inference jobs (worker processes only).",
}
