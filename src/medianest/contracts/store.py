"""Bodies of the media store API: entities, versions, the change feed, duplicates, admin."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from medianest.contracts.ids import MAX_ID, StoreId

EPOCH_MS_MIN = -62_135_596_800_000  # 0001-01-01
EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31
Label = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class MediaType(StrEnum):
    image = "image"
    video = "video"


class OrderBy(StrEnum):
    create_date = "create_date"
    added_date = "added_date"
    id = "id"
    label = "label"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class ChangeOp(StrEnum):
    created = "created"
    updated = "updated"
    deleted = "deleted"


class EntityRead(BaseModel):
    """An entity (media item or collection) as the API shows it; dates are epoch ms UTC."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    is_collection: bool
    label: str | None = None
    description: str | None = None
    parent_id: int | None = None
    added_date: int | None = None
    updated_date: int | None = None
    create_date: int | None = None
    added_by: int | None = None
    updated_by: int | None = None
    file_size: int | None = None
    height: int | None = None
    width: int | None = None
    duration: float | None = None
    mime_type: str | None = None
    type: str | None = None
    extension: str | None = None
    md5: str | None = None
    sha256: str | None = None
    file_path: str | None = None
    original_filename: str | None = None
    create_date_source: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    orientation: int | None = None
    phash: str | None = None
    is_deleted: bool = False
    children_count: int | None = None


class EntityFields(BaseModel):
    """The user-editable fields of a multipart create or full update."""

    is_collection: bool
    label: Label | None = None
    description: Description | None = None
    parent_id: StoreId | None = None


class EntityPatchBody(BaseModel):
    """Only the keys sent change; an explicit null clears the field."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    description: Description | None = None
    parent_id: StoreId | None = None
    is_deleted: bool | None = None


class EntityPatch(BaseModel):
    body: EntityPatchBody


class EntityQuery(BaseModel):
    """Filters, order and page of the entity list."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)
    version: int | None = Field(None, ge=1, le=MAX_ID)
    parent_id: StoreId | None = None
    is_collection: bool | None = None
    type: MediaType | None = None
    mime_type: str | None = Field(None, max_length=100)
    include_deleted: bool = False
    created_after: int | None = Field(None, ge=EPOCH_MS_MIN, le=EPOCH_MS_MAX)
    created_before: int | None = Field(None, ge=EPOCH_MS_MIN, le=EPOCH_MS_MAX)
    search_query: str | None = Field(None, max_length=255)
    order_by: OrderBy = OrderBy.id
    order: SortOrder = SortOrder.asc


class VersionRead(BaseModel):
    version: int
    transaction_id: int
    updated_date: int | None
    updated_by: int | None
    operation: ChangeOp
    changed_fields: list[str]


class ChangeRecord(BaseModel):
    cursor: int
    entity_id: int
    op: ChangeOp
    version: int
    md5: str | None
    is_collection: bool
    type: str | None
    at: int


class ChangesPage(BaseModel):
    items: list[ChangeRecord]
    next_cursor: int


class LookupRequest(BaseModel):
    hashes: list[Annotated[str, StringConstraints(min_length=32, max_length=64)]] = Field(
        max_length=1000
    )


class LookupResult(BaseModel):
    hash: str
    known: bool
    entity_id: int | None = None
    is_deleted: bool | None = None


class LookupResponse(BaseModel):
    results: list[LookupResult]


class NearDuplicate(BaseModel):
    distance: int
    entity: EntityRead


class NearDuplicates(BaseModel):
    entity_id: int
    max_distance: int
    items: list[NearDuplicate]


class DuplicateGroup(BaseModel):
    entity_ids: list[int]
    entities: list[EntityRead]


class DuplicateGroups(BaseModel):
    max_distance: int
    groups: list[DuplicateGroup]


class ReadAuthConfig(BaseModel):
    read_auth_enabled: bool


class ReadAuthUpdate(BaseModel):
    enabled: bool


class SweepResult(BaseModel):
    files_removed: int
    renditions_removed: int
    temp_files_removed: int
    metadata_rows_removed: int


class Banner(BaseModel):
    service: str
    name: str
    version: str


class StoreHealth(BaseModel):
    status: str
    database: str
    free_disk_bytes: int


class DeleteAllResult(BaseModel):
    deleted: int
