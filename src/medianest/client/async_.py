"""``AsyncMediaNestClient``: the asyncio SDK, one object for all three services.

>>> async with AsyncMediaNestClient() as mn:
...     await mn.login("alice", "secret")
...     result = await mn.upload(Path("cat.jpg"))
...     print(result.entity.id, "new" if result.created else "already stored")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Unpack

from medianest.client._async_core import AsyncCore
from medianest.client._endpoints import auth as ep_auth
from medianest.client._endpoints import inference as ep_inf
from medianest.client._endpoints import store as ep_store
from medianest.client.models import (
    Analysis,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuditRunRead,
    Banner,
    ChangesPage,
    CleanupResponse,
    DuplicateGroups,
    EntityFilters,
    EntityPage,
    EntityRead,
    FaceList,
    FaceRead,
    HealthResponse,
    JobRead,
    Jwks,
    LabelLookupResult,
    LabelSearch,
    LookupResult,
    NearDuplicates,
    Page,
    PermissionRead,
    PersonMediaItem,
    PersonRead,
    PersonSearch,
    PublicKeyRead,
    ReadAuthConfig,
    RegroupStatus,
    SimilarFaces,
    SimilarImages,
    StatsResponse,
    StorageReport,
    UploadResult,
    UserCreate,
    UserRead,
    UserUpdate,
    VersionRead,
)


class AsyncMediaNestClient(AsyncCore):
    """Typed asyncio access to authentication, media store and inference."""

    # ------------------------------------------------------------ authentication

    async def me(self) -> UserRead:
        return await self.call(ep_auth.me())

    async def list_users(self, skip: int = 0, limit: int = 100) -> list[UserRead]:
        return await self.call(ep_auth.list_users(skip, limit))

    async def get_user(self, user_id: int) -> UserRead:
        return await self.call(ep_auth.get_user(user_id))

    async def create_user(self, user: UserCreate) -> UserRead:
        return await self.call(ep_auth.create_user(user))

    async def update_user(self, user_id: int, changes: UserUpdate) -> UserRead:
        return await self.call(ep_auth.update_user(user_id, changes))

    async def delete_user(self, user_id: int) -> None:
        await self.call(ep_auth.delete_user(user_id))

    async def change_password(self, current_password: str, new_password: str) -> None:
        await self.call(ep_auth.change_password(current_password, new_password))

    async def reset_password(self, user_id: int, new_password: str) -> None:
        await self.call(ep_auth.reset_password(user_id, new_password))

    async def create_api_key(
        self,
        name: str,
        permissions: list[str],
        *,
        ttl_s: int | None = None,
        expires_at: datetime | None = None,
        is_admin: bool = False,
    ) -> ApiKeyCreated:
        """A new API key (its ``key`` is shown only in this answer)."""
        body = ApiKeyCreate(
            name=name,
            permissions=permissions,
            ttl_s=ttl_s,
            expires_at=expires_at,
            is_admin=is_admin,
        )
        return await self.call(ep_auth.create_api_key(body))

    async def list_api_keys(self, user_id: int | None = None) -> list[ApiKeyRead]:
        """The caller's API keys, or a user's (admin)."""
        return await self.call(ep_auth.list_api_keys(user_id))

    async def revoke_api_key(self, key_id: int, user_id: int | None = None) -> None:
        """Revoke one of the caller's API keys, or a user's (admin)."""
        await self.call(ep_auth.revoke_api_key(key_id, user_id))

    async def permissions(self) -> list[PermissionRead]:
        return await self.call(ep_auth.permissions())

    async def public_key(self) -> PublicKeyRead:
        return await self.call(ep_auth.public_key())

    async def jwks(self) -> Jwks:
        return await self.call(ep_auth.jwks())

    # ------------------------------------------------------------ media store: entities

    async def store_banner(self) -> Banner:
        return await self.call(ep_store.banner())

    async def list_entities(
        self, page: int = 1, page_size: int = 20, **filters: Unpack[EntityFilters]
    ) -> EntityPage:
        """One page by number, or the page after ``after=`` (a previous page's next_cursor)."""
        return await self.call(ep_store.list_entities(page, page_size, filters))

    async def iter_entities(
        self, page_size: int = 100, **filters: Unpack[EntityFilters]
    ) -> AsyncIterator[EntityRead]:
        """Every matching entity, following cursors (none missed or repeated under inserts)."""
        result = await self.list_entities(1, page_size, **filters)
        while True:
            for item in result.items:
                yield item
            if result.next_cursor is None:
                return
            filters["after"] = result.next_cursor
            result = await self.list_entities(1, page_size, **filters)

    async def get_entity(self, entity_id: int, version: int | None = None) -> EntityRead:
        return await self.call(ep_store.get_entity(entity_id, version))

    async def create_collection(
        self, label: str, description: str | None = None, parent_id: int | None = None
    ) -> EntityRead:
        return await self.call(ep_store.create_collection(label, description, parent_id))

    async def upload(
        self,
        path: Path | str,
        *,
        label: str | None = None,
        description: str | None = None,
        parent_id: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> UploadResult:
        """Stream a file to the store; ``created`` is False when the content was already there.

        ``on_bytes(n)`` is told of every chunk sent (negative after a rewind for a retry)."""
        opener = ep_store.path_opener(Path(path), on_bytes)
        return await self.call(
            ep_store.upload(opener, label=label, description=description, parent_id=parent_id)
        )

    async def upload_fileobj(
        self,
        fileobj: IO[bytes],
        filename: str,
        *,
        parent_id: int | None = None,
        label: str | None = None,
        description: str | None = None,
    ) -> UploadResult:
        """Upload from an open binary file (retried only when it can seek back)."""
        opener = ep_store.fileobj_opener(fileobj, filename)
        return await self.call(
            ep_store.upload(
                opener,
                label=label,
                description=description,
                parent_id=parent_id,
                idempotent=fileobj.seekable(),
            )
        )

    async def replace_entity(
        self,
        entity_id: int,
        path: Path | str | None = None,
        *,
        label: str | None = None,
        description: str | None = None,
        parent_id: int | None = None,
        is_collection: bool = False,
    ) -> EntityRead:
        """Full update (PUT): fields not given are cleared; a new file replaces the content
        and its metadata (409 if that content belongs to another entity)."""
        opener = ep_store.path_opener(Path(path)) if path is not None else None
        return await self.call(
            ep_store.replace_entity(
                entity_id,
                opener,
                label=label,
                description=description,
                parent_id=parent_id,
                is_collection=is_collection,
            )
        )

    async def update_entity(self, entity_id: int, **changes: Any) -> EntityRead:
        """Partial update (PATCH): only the given keys change; ``None`` clears a field."""
        return await self.call(ep_store.patch_entity(entity_id, changes))

    async def move_entity(self, entity_id: int, parent_id: int | None) -> EntityRead:
        return await self.update_entity(entity_id, parent_id=parent_id)

    async def trash_entity(self, entity_id: int) -> EntityRead:
        return await self.update_entity(entity_id, is_deleted=True)

    async def untrash_entity(self, entity_id: int) -> EntityRead:
        return await self.update_entity(entity_id, is_deleted=False)

    async def delete_entity(self, entity_id: int) -> None:
        """Hard delete: the row, its versions and its file are gone."""
        await self.call(ep_store.delete_entity(entity_id))

    async def delete_all_entities(self) -> Any:
        return await self.call(ep_store.delete_all())

    # ------------------------------------------------------------ media store: versions, files

    async def versions(self, entity_id: int) -> list[VersionRead]:
        return await self.call(ep_store.versions(entity_id))

    async def get_version(self, entity_id: int, version: int) -> EntityRead:
        return await self.get_entity(entity_id, version)

    async def restore_version(self, entity_id: int, version: int) -> EntityRead:
        return await self.call(ep_store.restore_version(entity_id, version))

    async def download(
        self, entity_id: int, dest: Path | str, *, version: int | None = None, kind: str = "file"
    ) -> Path:
        """Stream the file (or ``thumbnail`` / ``preview``) to ``dest``; a folder (existing, or
        a string ending in ``/``) keeps the server's file name. Returns the path written."""
        call = ep_store.file(entity_id, kind, version)
        return await self._download(call, dest, f"{entity_id}-{kind}")

    async def file_bytes(
        self, entity_id: int, *, version: int | None = None, kind: str = "file"
    ) -> bytes:
        """Small files only: the whole content in memory."""
        return await self.call(ep_store.file(entity_id, kind, version))

    async def metadata(self, entity_id: int) -> Any:
        return await self.call(ep_store.metadata(entity_id))

    async def lookup(self, hashes: list[str]) -> list[LookupResult]:
        """Which of these md5/sha256 hashes the store has (any number; sent 1,000 at a time)."""
        out: list[LookupResult] = []
        for start in range(0, len(hashes), ep_store.LOOKUP_BATCH):
            chunk = hashes[start : start + ep_store.LOOKUP_BATCH]
            found: list[LookupResult] = await self.call(ep_store.lookup(chunk))
            out.extend(found)
        return out

    async def lookup_labels(self, labels: list[str]) -> list[LabelLookupResult]:
        """Entities labelled exactly so, per label (sent 1,000 labels at a time)."""
        out: list[LabelLookupResult] = []
        for start in range(0, len(labels), ep_store.LOOKUP_BATCH):
            chunk = labels[start : start + ep_store.LOOKUP_BATCH]
            found: list[LabelLookupResult] = await self.call(ep_store.lookup_labels(chunk))
            out.extend(found)
        return out

    async def storage_report(self) -> StorageReport:
        """Bytes used by originals, trash, old versions, renditions, streams (admin)."""
        return await self.call(ep_store.storage_report())

    async def start_audit(self) -> AuditRunRead:
        """Start an integrity audit of every stored file (admin); 409 if one is running."""
        return await self.call(ep_store.start_audit())

    async def get_audit(self, audit_id: int | None = None) -> AuditRunRead:
        """An audit's progress and findings; the latest with no id (admin)."""
        return await self.call(ep_store.get_audit(audit_id))

    async def near_duplicates(
        self, entity_id: int, max_distance: int | None = None
    ) -> NearDuplicates:
        return await self.call(ep_store.near_duplicates(entity_id, max_distance))

    async def duplicates(self, max_distance: int | None = None) -> DuplicateGroups:
        return await self.call(ep_store.duplicates(max_distance))

    async def changes(self, since: int = 0, limit: int = 100) -> ChangesPage:
        return await self.call(ep_store.changes(since, limit))

    def store_events(self) -> AsyncIterator[dict[str, Any]]:
        """The store's change records as they happen (SSE), until the iterator is closed."""
        return self._sse(ep_store.events())

    async def store_config(self) -> ReadAuthConfig:
        return await self.call(ep_store.get_config())

    async def set_read_auth(self, enabled: bool) -> ReadAuthConfig:
        return await self.call(ep_store.set_read_auth(enabled))

    # ------------------------------------------------------------ inference

    async def create_job(
        self, task_type: str, media_store_id: int, priority: int = 5, force: bool = False
    ) -> JobRead:
        return await self.call(ep_inf.create_job(task_type, media_store_id, priority, force))

    async def get_job(self, job_id: int | str) -> JobRead:
        return await self.call(ep_inf.get_job(job_id))

    async def list_jobs(self, page: int = 1, page_size: int = 20, **filters: Any) -> Page[JobRead]:
        return await self.call(ep_inf.list_jobs(page, page_size, **filters))

    async def cancel_job(self, job_id: int | str) -> None:
        await self.call(ep_inf.cancel_job(job_id))

    async def retry_job(self, job_id: int | str) -> JobRead:
        return await self.call(ep_inf.retry_job(job_id))

    async def inference_stats(self) -> StatsResponse:
        return await self.call(ep_inf.stats())

    async def inference_cleanup(self, **params: Any) -> CleanupResponse:
        return await self.call(ep_inf.cleanup(**params))

    async def inference_health(self) -> HealthResponse:
        return await self.call(ep_inf.health())

    async def similar_images(
        self, media_store_id: int, limit: int | None = None, min_score: float | None = None
    ) -> SimilarImages:
        """Nearest images by embedding, the media itself excluded (404 before it is analysed)."""
        return await self.call(ep_inf.similar_images(media_store_id, limit, min_score))

    async def faces(self, media_store_id: int) -> FaceList:
        return await self.call(ep_inf.faces(media_store_id))

    async def get_face(self, face_id: str) -> FaceRead:
        return await self.call(ep_inf.get_face(face_id))

    async def similar_faces(
        self, face_id: str, limit: int | None = None, min_score: float | None = None
    ) -> SimilarFaces:
        return await self.call(ep_inf.similar_faces(face_id, limit, min_score))

    async def face_crop(self, face_id: str, size: int | None = None) -> bytes:
        """JPEG of the face (longest side ``size`` when given)."""
        return await self.call(ep_inf.face_crop(face_id, size))

    async def search_labels(self, q: str, limit: int | None = None) -> LabelSearch:
        return await self.call(ep_inf.search_labels(q, limit))

    async def analysis(self, media_store_id: int) -> Analysis:
        """Faces, labels and job states of one media item."""
        return await self.call(ep_inf.analysis(media_store_id))

    async def list_people(
        self,
        page: int = 1,
        page_size: int = 20,
        named: bool | None = None,
        hidden: bool | None = None,
        order: str | None = None,
    ) -> Page[PersonRead]:
        """Persons, most faces first (order="name" for by name); filter named / hidden."""
        return await self.call(ep_inf.list_people(page, page_size, named, hidden, order))

    async def get_person(self, person_id: int) -> PersonRead:
        return await self.call(ep_inf.get_person(person_id))

    async def update_person(self, person_id: int, **fields: Any) -> PersonRead:
        """Change ``name`` (None: unnamed), ``hidden`` or ``cover_face_id``; only those given."""
        return await self.call(ep_inf.update_person(person_id, **fields))

    async def name_person(self, person_id: int, name: str | None) -> PersonRead:
        return await self.call(ep_inf.update_person(person_id, name=name))

    async def delete_person(self, person_id: int) -> None:
        """Its faces become unassigned and are not grouped again on their own."""
        await self.call(ep_inf.delete_person(person_id))

    async def person_faces(
        self, person_id: int, page: int = 1, page_size: int = 20
    ) -> Page[FaceRead]:
        return await self.call(ep_inf.person_faces(person_id, page, page_size))

    async def person_media(
        self, person_id: int, page: int = 1, page_size: int = 20
    ) -> Page[PersonMediaItem]:
        """Media showing the person, newest first, with capture dates."""
        return await self.call(ep_inf.person_media(person_id, page, page_size))

    async def merge_people(self, person_id: int, person_ids: list[int]) -> PersonRead:
        """Merge ``person_ids`` into ``person_id``."""
        return await self.call(ep_inf.merge_people(person_id, person_ids))

    async def set_face_person(self, face_id: str, person_id: int | None) -> FaceRead:
        """Move a face to a person for good, or (None) out of its person for good."""
        return await self.call(ep_inf.set_face_person(face_id, person_id))

    async def delete_face(self, face_id: str) -> None:
        """A false detection: gone, also after re-analysis of its media."""
        await self.call(ep_inf.delete_face(face_id))

    async def search_people(self, q: str, limit: int | None = None) -> PersonSearch:
        """Persons by name prefix, ignoring case and accents."""
        return await self.call(ep_inf.search_people(q, limit))

    async def regroup_people(self) -> RegroupStatus:
        """Admin: start grouping every face again, keeping every decision (background)."""
        return await self.call(ep_inf.regroup_people())

    async def regroup_status(self) -> RegroupStatus:
        """Admin: state of the last full regroup (running, completed or failed)."""
        return await self.call(ep_inf.regroup_status())

    def job_events(
        self, job_id: int | str | None = None, media_store_id: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Job lifecycle events (SSE) as dicts, until the iterator is closed."""
        return self._sse(ep_inf.events(job_id, media_store_id))
