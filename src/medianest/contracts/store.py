"""Bodies of the media store API: entities, versions, the change feed, duplicates, admin."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from medianest.contracts.health import HealthAuth
from medianest.contracts.ids import MAX_ID, StoreId

EPOCH_MS_MIN = -62_135_596_800_000  # 0001-01-01
EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31
Label = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
EpochMs = Annotated[int | None, Field(ge=EPOCH_MS_MIN, le=EPOCH_MS_MAX)]
Count = Annotated[int | None, Field(ge=0, le=2**62)]
Md5 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$")]
# (lower bound, upper bound) query parameters checked for lower <= upper
RANGES = (
    ("width_min", "width_max"),
    ("height_min", "height_max"),
    ("file_size_min", "file_size_max"),
    ("date_from", "date_to"),
    ("added_from", "added_to"),
    ("created_after", "created_before"),
)
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
    """Filters, order and page of the entity list (ranges are inclusive, dates epoch ms)."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)
    after: str | None = Field(
        None, max_length=512, description="opaque cursor from a previous page's next_cursor"
    )
    version: int | None = Field(None, ge=1, le=MAX_ID)
    parent_id: int | None = Field(None, ge=0, le=MAX_ID, description="0: the top level (no parent)")
    is_collection: bool | None = None
    type: MediaType | None = None
    mime_type: str | None = Field(None, max_length=100)
    md5: Md5 | None = None
    width_min: Count = None
    width_max: Count = None
    height_min: Count = None
    height_max: Count = None
    file_size_min: Count = None
    file_size_max: Count = None
    date_from: EpochMs = Field(None, description="capture date >= this")
    date_to: EpochMs = Field(None, description="capture date <= this")
    added_from: EpochMs = None
    added_to: EpochMs = None
    include_deleted: bool = False
    created_after: EpochMs = Field(None, description="capture date >= this (older name)")
    created_before: EpochMs = Field(None, description="capture date < this (older name)")
    search_query: str | None = Field(None, max_length=255)
    order_by: OrderBy = OrderBy.id
    order: SortOrder = SortOrder.asc

    @model_validator(mode="after")
    def _ranges_ordered(self) -> EntityQuery:
        for low, high in RANGES:
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo}) is greater than {high} ({hi})")
        if self.after is not None and self.page != 1:
            raise ValueError("use either page or after, not both")
        if self.after is not None and self.version is not None:
            raise ValueError("after (cursor) cannot be combined with version")
        return self


class KeysetCursor(BaseModel):
    """Where a page ended: the list order and the last row's order value and id.

    Sent to clients as opaque URL-safe base64 of this model's JSON.
    """

    model_config = ConfigDict(extra="forbid")

    order_by: OrderBy
    order: SortOrder
    value: int | str | None = None
    id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self.model_dump_json().encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> KeysetCursor:
        """The cursor in ``token``; ValueError when it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return cls.model_validate_json(raw)
        except (ValueError, binascii.Error) as exc:
            raise ValueError("not a valid cursor") from exc


class ListPagination(BaseModel):
    """The seed's pagination; after a cursor, ``page`` is 0 and the totals are null (not counted:
    a count reads every match, a cursor page only its own rows)."""

    page: int
    page_size: int
    total_items: int | None
    total_pages: int | None
    has_next: bool
    has_prev: bool


class EntityPage(BaseModel):
    """The seed's page body plus ``next_cursor`` (null on the last page) for keyset paging."""

    items: list[EntityRead]
    pagination: ListPagination
    next_cursor: str | None = None


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
    """Hashes (md5 or sha256) and/or exact labels to look up; at least one of either."""

    hashes: list[Annotated[str, StringConstraints(min_length=32, max_length=64)]] = Field(
        default_factory=list, max_length=1000
    )
    labels: list[Label] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _not_empty(self) -> LookupRequest:
        if "hashes" not in self.model_fields_set and "labels" not in self.model_fields_set:
            raise ValueError("send hashes, labels or both")
        return self


class LookupResult(BaseModel):
    hash: str
    known: bool
    entity_id: int | None = None
    is_deleted: bool | None = None


class LabelHit(BaseModel):
    entity_id: int
    is_deleted: bool


class LabelLookupResult(BaseModel):
    """Every entity whose label is exactly ``label`` (labels are not unique), lowest id first."""

    label: str
    known: bool
    entities: list[LabelHit]


class LookupResponse(BaseModel):
    results: list[LookupResult]
    label_results: list[LabelLookupResult] = Field(default_factory=list)


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


class Usage(BaseModel):
    files: int = 0
    bytes: int = 0


class StorageReport(BaseModel):
    """Where the store's bytes are; each original counted once, in the first class it fits."""

    originals: Usage = Field(description="content of live (not trashed) entities")
    trash: Usage = Field(description="content only trashed entities use")
    old_versions: Usage = Field(description="content only older versions use")
    renditions: Usage = Field(description="thumbnails and previews")
    streams: Usage = Field(description="video streaming renditions (HLS), when present")
    unreferenced: Usage = Field(description="originals on disk no row uses (the sweep's work)")
    temp: Usage = Field(description="upload temp files")
    total_bytes: int
    entities: int
    collections: int
    trashed_entities: int


class AuditStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    interrupted = "interrupted"


class AuditTrigger(StrEnum):
    manual = "manual"
    schedule = "schedule"


class FindingKind(StrEnum):
    missing = "missing"
    corrupt = "corrupt"
    orphan = "orphan"


class AuditFindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: FindingKind
    sha256: str = Field(description="the expected hash (for an orphan: its file name)")
    path: str
    size: int | None = None
    actual_sha256: str | None = Field(None, description="corrupt: what the bytes hash to now")
    entity_ids: list[int] = Field(description="entities (current or old versions) using it")


class AuditProgress(BaseModel):
    files_total: int
    files_checked: int
    bytes_total: int
    bytes_checked: int
    fraction: float


class AuditRunRead(BaseModel):
    id: int
    status: AuditStatus
    trigger: AuditTrigger
    requested_by: int | None
    created_at: int
    started_at: int | None
    finished_at: int | None
    progress: AuditProgress
    missing: int
    corrupt: int
    orphans: int
    error: str | None
    findings: list[AuditFindingRead]
    findings_truncated: bool


class StoreHealth(HealthAuth):
    status: str
    database: str
    free_disk_bytes: int


class DeleteAllResult(BaseModel):
    deleted: int
