"""Request and response models of the SDK.

The services' own pydantic schemas (``medianest.<service>.schemas``, and the inference
service's search schemas in ``medianest.inference.results.schemas``) are re-exported here, so the
client and the servers share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from medianest.authentication.schemas import (
    Jwks,
    PasswordChange,
    PasswordReset,
    PublicKeyResponse,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from medianest.authentication.schemas import PermissionInfo as PermissionRead
from medianest.common.pagination import Page, Pagination
from medianest.inference.results.people_schemas import (
    PersonMediaItem,
    PersonRead,
    PersonSearch,
    RegroupResponse,
    RegroupStatus,
)
from medianest.inference.results.schemas import (
    Analysis,
    BBoxRead,
    FaceList,
    FaceRead,
    JobState,
    LabelMatch,
    LabelRead,
    LabelSearch,
    PersonRef,
    SimilarFace,
    SimilarFaces,
    SimilarImage,
    SimilarImages,
)
from medianest.inference.schemas import (
    CleanupResponse,
    HealthResponse,
    JobCreate,
    StatsResponse,
)
from medianest.inference.schemas import JobResponse as JobRead
from medianest.media_store.schemas import (
    Banner,
    ChangeRecord,
    ChangesPage,
    DuplicateGroup,
    DuplicateGroups,
    EntityPatchBody,
    EntityRead,
    LookupRequest,
    LookupResponse,
    LookupResult,
    NearDuplicate,
    NearDuplicates,
    ReadAuthConfig,
    ReadAuthUpdate,
    VersionRead,
)

PublicKeyRead = PublicKeyResponse


class EntityFilters(TypedDict, total=False):
    """Filters of ``GET /entity/`` (see ``media_store.schemas.EntityQuery``); all optional."""

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
    "TokenResponse",
    "UploadResult",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "VersionRead",
]
