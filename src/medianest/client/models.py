"""Request and response models of the SDK.

The wire models of ``medianest.contracts`` are re-exported here, so the client and the servers
share one definition (and a client install needs no server package).
"""

# ruff: noqa: F405  (the wire models come from medianest.contracts by star import)
from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from medianest.contracts.auth import *  # noqa: F403
from medianest.contracts.auth import PermissionInfo, PublicKeyResponse
from medianest.contracts.inference import *  # noqa: F403
from medianest.contracts.inference import JobResponse
from medianest.contracts.pages import Page, Pagination
from medianest.contracts.search import *  # noqa: F403
from medianest.contracts.store import *  # noqa: F403
from medianest.contracts.store import EntityRead

PermissionRead = PermissionInfo
JobRead = JobResponse
PublicKeyRead = PublicKeyResponse


class EntityFilters(TypedDict, total=False):
    """Filters of ``GET /entity/`` (see ``contracts.store.EntityQuery``); all optional."""

    parent_id: int
    is_collection: bool
    type: str
    mime_type: str
    include_deleted: bool
    created_after: int
    created_before: int
    search_query: str
    order_by: str
    order: str
    version: int


@dataclass(frozen=True)
class UploadResult:
    """The stored entity, and whether this upload created it (False: the content was known)."""

    entity: EntityRead
    created: bool


__all__ = [
    "Analysis",
    "BBoxRead",
    "Banner",
    "ChangeRecord",
    "ChangesPage",
    "CleanupResponse",
    "DuplicateGroup",
    "DuplicateGroups",
    "EntityFilters",
    "EntityPatchBody",
    "EntityRead",
    "FaceList",
    "FaceRead",
    "HealthResponse",
    "JobCreate",
    "JobRead",
    "JobState",
    "Jwks",
    "LabelMatch",
    "LabelRead",
    "LabelSearch",
    "LookupRequest",
    "LookupResponse",
    "LookupResult",
    "NearDuplicate",
    "NearDuplicates",
    "Page",
    "Pagination",
    "PasswordChange",
    "PasswordReset",
    "PermissionRead",
    "PublicKeyRead",
    "ReadAuthConfig",
    "ReadAuthUpdate",
    "RefreshRequest",
    "SimilarFace",
    "SimilarFaces",
    "SimilarImage",
    "SimilarImages",
    "StatsResponse",
    "TokenResponse",
    "UploadResult",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "VersionRead",
]
