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
from medianest.contracts.people import *  # noqa: F403
from medianest.contracts.search import *  # noqa: F403
from medianest.contracts.store import *  # noqa: F403
from medianest.contracts.store import EntityRead

PermissionRead = PermissionInfo
JobRead = JobResponse
PublicKeyRead = PublicKeyResponse


class EntityFilters(TypedDict, total=False):
    """Filters of ``GET /entity/`` (see ``contracts.store.EntityQuery``); all optional."""

    after: str
    parent_id: int
    is_collection: bool
    type: str
    mime_type: str
    md5: str
    width_min: int
    width_max: int
    height_min: int
    height_max: int
    file_size_min: int
    file_size_max: int
    date_from: int
    date_to: int
    added_from: int
    added_to: int
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
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "AuditFindingRead",
    "AuditRunRead",
    "BBoxRead",
    "Banner",
    "ChangeRecord",
    "ChangesPage",
    "CleanupResponse",
    "DuplicateGroup",
    "DuplicateGroups",
    "EntityFilters",
    "EntityPage",
    "EntityPatchBody",
    "EntityRead",
    "FaceList",
    "FaceRead",
    "HealthResponse",
    "JobCreate",
    "JobRead",
    "JobState",
    "Jwks",
    "LabelHit",
    "LabelLookupResult",
    "LabelMatch",
    "LabelRead",
    "LabelSearch",
    "ListPagination",
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
    "PersonMediaItem",
    "PersonRead",
    "PersonRef",
    "PersonSearch",
    "PublicKeyRead",
    "ReadAuthConfig",
    "ReadAuthUpdate",
    "RefreshRequest",
    "RegroupResponse",
    "RegroupStatus",
    "SimilarFace",
    "SimilarFaces",
    "SimilarImage",
    "SimilarImages",
    "StatsResponse",
    "StorageReport",
    "TokenResponse",
    "UploadResult",
    "Usage",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "VersionRead",
]
