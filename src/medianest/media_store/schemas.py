"""Request and response bodies of the media store API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

EPOCH_MS_MIN = -62_135_596_800_000  # 0001-01-01
EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31
Label = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
TOKEN_CHARS = 16


def content_token(sha256: str | None) -> str | None:
    """A short token that changes with the content: makes rendition URLs cacheable forever."""
    return sha256[:TOKEN_CHARS] if sha256 else None


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
    thumbhash: str | None = None
    is_deleted: bool = False
    children_count: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def token(self) -> str | None:
        """Content version token: add ``?v=TOKEN`` to thumbnail/preview URLs (immutable)."""
        return content_token(self.sha256)


class EntityFields(BaseModel):
    """The user-editable fields of a multipart create or full update."""

    is_collection: bool
    label: Label | None = None
    description: Description | None = None
    parent_id: int | None = None


class EntityPatchBody(BaseModel):
    """Only the keys sent change; an explicit null clears the field."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    description: Description | None = None
    parent_id: int | None = None
    is_deleted: bool | None = None


class EntityPatch(BaseModel):
    body: EntityPatchBody


class EntityQuery(BaseModel):
    """Filters, order and page of the entity list."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)
    version: int | None = Field(None, ge=1)
    parent_id: int | None = None
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


class StorageUsage(BaseModel):
    """What the library holds and what it costs on disk (admin)."""

    items: int = Field(description="media in the library (not in the trash)")
    trashed_items: int
    collections: int
    stored_files: int = Field(description="distinct stored contents, versions included")
    originals_bytes: int
    renditions_bytes: int = Field(description="thumbnails and previews")
    free_disk_bytes: int
    total_disk_bytes: int


class ThumbhashBackfill(BaseModel):
    """One batch of placeholders computed for media stored before they existed."""

    examined: int
    updated: int
    next_after_id: int = Field(description="pass as after_id for the next batch")
    done: bool


class TimelineFilter(BaseModel):
    """Which media a timeline shows: the library, one album's children, or the trash."""

    parent_id: int | None = Field(None, ge=1, le=2**31 - 1)
    is_deleted: bool = False
    type: MediaType | None = None


class BucketQuery(TimelineFilter):
    month: str = Field(pattern=r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC)")


class TimelineBucket(BaseModel):
    month: str
    count: int


class TimelineBuckets(BaseModel):
    """Months (UTC, capture date) newest first with their media counts."""

    total: int
    buckets: list[TimelineBucket]


class BucketItems(BaseModel):
    """One month's media as parallel arrays (index i of every list is item i), newest first."""

    month: str
    count: int
    ids: list[int]
    create_date: list[int]
    width: list[int | None]
    height: list[int | None]
    type: list[str | None]
    mime_type: list[str | None]
    duration: list[float | None]
    label: list[str | None]
    original_filename: list[str | None]
    thumbhash: list[str | None]
    token: list[str | None]
    is_deleted: list[bool]


class Banner(BaseModel):
    service: str
    name: str
    version: str
