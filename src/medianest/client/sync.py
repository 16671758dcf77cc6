"""``MediaNestClient``: the synchronous SDK, one object for all three services.

>>> with MediaNestClient() as mn:                     # URLs from MEDIANEST_*_URL or defaults
...     mn.login("alice", "secret")
...     result = mn.upload(Path("cat.jpg"))
...     print(result.entity.id, "new" if result.created else "already stored")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Unpack

from medianest.client._endpoints import auth as ep_auth
from medianest.client._endpoints import inference as ep_inf
from medianest.client._endpoints import store as ep_store
from medianest.client._sync_core import SyncCore
from medianest.client.config import Tokens, load_credentials, save_credentials, session_urls
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


class MediaNestClient(SyncCore):
    """Typed, thread-safe access to authentication, media store and inference."""

    @classmethod
    def from_saved_session(cls, **kwargs: Any) -> MediaNestClient:
        """A client on ``MEDIANEST_TOKEN`` or ``MEDIANEST_API_KEY`` when set, else on the session
        saved by ``medianest login`` (refreshed tokens are saved back), else anonymous (reads
        are open unless an admin turned read-auth on)."""
        saved = load_credentials()
        urls = session_urls(saved)
        args = (urls.auth_url, urls.store_url, urls.inference_url)
        if token := os.environ.get("MEDIANEST_TOKEN"):
            return cls(*args, token=token, **kwargs)
        if api_key := os.environ.get("MEDIANEST_API_KEY"):
            return cls(*args, api_key=api_key, **kwargs)
        if saved is None:
            return cls(*args, **kwargs)

        def persist(tokens: Tokens | None) -> None:
            if tokens is not None:
                save_credentials(saved.model_copy(update={"tokens": tokens}))

        return cls(*args, tokens=saved.tokens, on_tokens=persist, **kwargs)

    # ------------------------------------------------------------ authentication

    def me(self) -> UserRead:
        return self.call(ep_auth.me())

    def list_users(self, skip: int = 0, limit: int = 100) -> list[UserRead]:
        return self.call(ep_auth.list_users(skip, limit))

    def get_user(self, user_id: int) -> UserRead:
        return self.call(ep_auth.get_user(user_id))

    def create_user(self, user: UserCreate) -> UserRead:
        return self.call(ep_auth.create_user(user))

    def update_user(self, user_id: int, changes: UserUpdate) -> UserRead:
        return self.call(ep_auth.update_user(user_id, changes))

    def delete_user(self, user_id: int) -> None:
        self.call(ep_auth.delete_user(user_id))

    def change_password(self, current_password: str, new_password: str) -> None:
        self.call(ep_auth.change_password(current_password, new_password))

    def reset_password(self, user_id: int, new_password: str) -> None:
        self.call(ep_auth.reset_password(user_id, new_password))

    def create_api_key(
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
        return self.call(ep_auth.create_api_key(body))

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKeyRead]:
        """The caller's API keys, or a user's (admin)."""
        return self.call(ep_auth.list_api_keys(user_id))

    def revoke_api_key(self, key_id: int, user_id: int | None = None) -> None:
        """Revoke one of the caller's API keys, or a user's (admin)."""
        self.call(ep_auth.revoke_api_key(key_id, user_id))

    def permissions(self) -> list[PermissionRead]:
        return self.call(ep_auth.permissions())

    def public_key(self) -> PublicKeyRead:
        return self.call(ep_auth.public_key())

    def auth_health(self) -> dict[str, Any]:
        return self.call(ep_auth.health())

    def jwks(self) -> Jwks:
        return self.call(ep_auth.jwks())

    # ------------------------------------------------------------ media store: entities

    def store_banner(self) -> Banner:
        return self.call(ep_store.banner())

    def list_entities(
        self, page: int = 1, page_size: int = 20, **filters: Unpack[EntityFilters]
    ) -> EntityPage:
        """One page by number, or the page after ``after=`` (a previous page's next_cursor)."""
        return self.call(ep_store.list_entities(page, page_size, filters))

    def iter_entities(
        self, page_size: int = 100, **filters: Unpack[EntityFilters]
    ) -> Iterator[EntityRead]:
        """Every matching entity, following cursors (none missed or repeated under inserts)."""
        result = self.list_entities(1, page_size, **filters)
        while True:
            yield from result.items
            if result.next_cursor is None:
                return
            filters["after"] = result.next_cursor
            result = self.list_entities(1, page_size, **filters)

    def get_entity(self, entity_id: int, version: int | None = None) -> EntityRead:
        return self.call(ep_store.get_entity(entity_id, version))

    def create_collection(
        self, label: str, description: str | None = None, parent_id: int | None = None
    ) -> EntityRead:
        return self.call(ep_store.create_collection(label, description, parent_id))

    def upload(
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
        return self.call(
            ep_store.upload(opener, label=label, description=description, parent_id=parent_id)
        )

    def upload_fileobj(
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
        return self.call(
            ep_store.upload(
                opener,
                label=label,
                description=description,
                parent_id=parent_id,
                idempotent=fileobj.seekable(),
            )
        )

    def replace_entity(
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
        return self.call(
            ep_store.replace_entity(
                entity_id,
                opener,
                label=label,
                description=description,
                parent_id=parent_id,
                is_collection=is_collection,
            )
        )

    def update_entity(self, entity_id: int, **changes: Any) -> EntityRead:
        """Partial update (PATCH): only the given keys change; ``None`` clears a field."""
        return self.call(ep_store.patch_entity(entity_id, changes))

    def move_entity(self, entity_id: int, parent_id: int | None) -> EntityRead:
        return self.update_entity(entity_id, parent_id=parent_id)

    def trash_entity(self, entity_id: int) -> EntityRead:
        return self.update_entity(entity_id, is_deleted=True)

    def untrash_entity(self, entity_id: int) -> EntityRead:
        return self.update_entity(entity_id, is_deleted=False)

    def delete_entity(self, entity_id: int) -> None:
        """Hard delete: the row, its versions and its file are gone."""
        self.call(ep_store.delete_entity(entity_id))

    def delete_all_entities(self) -> Any:
        return self.call(ep_store.delete_all())

    # ------------------------------------------------------------ media store: versions, files

    def versions(self, entity_id: int) -> list[VersionRead]:
        return self.call(ep_store.versions(entity_id))

    def get_version(self, entity_id: int, version: int) -> EntityRead:
        return self.get_entity(entity_id, version)

    def restore_version(self, entity_id: int, version: int) -> EntityRead:
        return self.call(ep_store.restore_version(entity_id, version))

    def download(
        self, entity_id: int, dest: Path | str, *, version: int | None = None, kind: str = "file"
    ) -> Path:
        """Stream the file (or ``thumbnail`` / ``preview``) to ``dest``; a folder (existing, or
        a string ending in ``/``) keeps the server's file name. Returns the path written."""
        call = ep_store.file(entity_id, kind, version)
        return self._download(call, dest, f"{entity_id}-{kind}")

    def file_bytes(
        self, entity_id: int, *, version: int | None = None, kind: str = "file"
    ) -> bytes:
        """Small files only: the whole content in memory."""
        return self.call(ep_store.file(entity_id, kind, version))

    def metadata(self, entity_id: int) -> Any:
        return self.call(ep_store.metadata(entity_id))

    def lookup(self, hashes: list[str]) -> list[LookupResult]:
        """Which of these md5/sha256 hashes the store has (any number; sent 1,000 at a time)."""
        out: list[LookupResult] = []
        for start in range(0, len(hashes), ep_store.LOOKUP_BATCH):
            chunk = hashes[start : start + ep_store.LOOKUP_BATCH]
            found: list[LookupResult] = self.call(ep_store.lookup(chunk))
            out.extend(found)
        return out

    def lookup_labels(self, labels: list[str]) -> list[LabelLookupResult]:
        """Entities labelled exactly so, per label (sent 1,000 labels at a time)."""
        out: list[LabelLookupResult] = []
        for start in range(0, len(labels), ep_store.LOOKUP_BATCH):
            chunk = labels[start : start + ep_store.LOOKUP_BATCH]
            found: list[LabelLookupResult] = self.call(ep_store.lookup_labels(chunk))
            out.extend(found)
        return out

    def storage_report(self) -> StorageReport:
        """Bytes used by originals, trash, old versions, renditions, streams (admin)."""
        return self.call(ep_store.storage_report())

    def start_audit(self) -> AuditRunRead:
        """Start an integrity audit of every stored file (admin); 409 if one is running."""
        return self.call(ep_store.start_audit())

    def get_audit(self, audit_id: int | None = None) -> AuditRunRead:
        """An audit's progress and findings; the latest with no id (admin)."""
        return self.call(ep_store.get_audit(audit_id))

    def near_duplicates(self, entity_id: int, max_distance: int | None = None) -> NearDuplicates:
        return self.call(ep_store.near_duplicates(entity_id, max_distance))

    def duplicates(self, max_distance: int | None = None) -> DuplicateGroups:
        return self.call(ep_store.duplicates(max_distance))

    def changes(self, since: int = 0, limit: int = 100) -> ChangesPage:
        return self.call(ep_store.changes(since, limit))

    def store_events(self) -> Iterator[dict[str, Any]]:
        """The store's change records as they happen (SSE), until the iterator is closed."""
        return self._sse(ep_store.events())

    def store_config(self) -> ReadAuthConfig:
        return self.call(ep_store.get_config())

    def set_read_auth(self, enabled: bool) -> ReadAuthConfig:
        return self.call(ep_store.set_read_auth(enabled))

    # ------------------------------------------------------------ inference

    def create_job(
        self, task_type: str, media_store_id: int, priority: int = 5, force: bool = False
    ) -> JobRead:
        return self.call(ep_inf.create_job(task_type, media_store_id, priority, force))

    def get_job(self, job_id: int | str) -> JobRead:
        return self.call(ep_inf.get_job(job_id))

    def list_jobs(self, page: int = 1, page_size: int = 20, **filters: Any) -> Page[JobRead]:
        return self.call(ep_inf.list_jobs(page, page_size, **filters))

    def cancel_job(self, job_id: int | str) -> None:
        self.call(ep_inf.cancel_job(job_id))

    def retry_job(self, job_id: int | str) -> JobRead:
        return self.call(ep_inf.retry_job(job_id))

    def inference_stats(self) -> StatsResponse:
        return self.call(ep_inf.stats())

    def inference_cleanup(self, **params: Any) -> CleanupResponse:
        return self.call(ep_inf.cleanup(**params))

    def inference_health(self) -> HealthResponse:
        return self.call(ep_inf.health())

    def similar_images(
        self, media_store_id: int, limit: int | None = None, min_score: float | None = None
    ) -> SimilarImages:
        """Nearest images by embedding, the media itself excluded (404 before it is analysed)."""
        return self.call(ep_inf.similar_images(media_store_id, limit, min_score))

    def faces(self, media_store_id: int) -> FaceList:
        return self.call(ep_inf.faces(media_store_id))

    def get_face(self, face_id: str) -> FaceRead:
        return self.call(ep_inf.get_face(face_id))

    def similar_faces(
        self, face_id: str, limit: int | None = None, min_score: float | None = None
    ) -> SimilarFaces:
        return self.call(ep_inf.similar_faces(face_id, limit, min_score))

    def face_crop(self, face_id: str, size: int | None = None) -> bytes:
        """JPEG of the face (longest side ``size`` when given)."""
        return self.call(ep_inf.face_crop(face_id, size))

    def search_labels(self, q: str, limit: int | None = None) -> LabelSearch:
        return self.call(ep_inf.search_labels(q, limit))

    def analysis(self, media_store_id: int) -> Analysis:
        """Faces, labels and job states of one media item."""
        return self.call(ep_inf.analysis(media_store_id))

    def list_people(
        self,
        page: int = 1,
        page_size: int = 20,
        named: bool | None = None,
        hidden: bool | None = None,
        order: str | None = None,
    ) -> Page[PersonRead]:
        """Persons, most faces first (order="name" for by name); filter named / hidden."""
        return self.call(ep_inf.list_people(page, page_size, named, hidden, order))

    def get_person(self, person_id: int) -> PersonRead:
        return self.call(ep_inf.get_person(person_id))

    def update_person(self, person_id: int, **fields: Any) -> PersonRead:
        """Change ``name`` (None: unnamed), ``hidden`` or ``cover_face_id``; only those given."""
        return self.call(ep_inf.update_person(person_id, **fields))

    def name_person(self, person_id: int, name: str | None) -> PersonRead:
        return self.call(ep_inf.update_person(person_id, name=name))

    def delete_person(self, person_id: int) -> None:
        """Its faces become unassigned and are not grouped again on their own."""
        self.call(ep_inf.delete_person(person_id))

    def person_faces(self, person_id: int, page: int = 1, page_size: int = 20) -> Page[FaceRead]:
        return self.call(ep_inf.person_faces(person_id, page, page_size))

    def person_media(
        self, person_id: int, page: int = 1, page_size: int = 20
    ) -> Page[PersonMediaItem]:
        """Media showing the person, newest first, with capture dates."""
        return self.call(ep_inf.person_media(person_id, page, page_size))

    def merge_people(self, person_id: int, person_ids: list[int]) -> PersonRead:
        """Merge ``person_ids`` into ``person_id``."""
        return self.call(ep_inf.merge_people(person_id, person_ids))

    def set_face_person(self, face_id: str, person_id: int | None) -> FaceRead:
        """Move a face to a person for good, or (None) out of its person for good."""
        return self.call(ep_inf.set_face_person(face_id, person_id))

    def delete_face(self, face_id: str) -> None:
        """A false detection: gone, also after re-analysis of its media."""
        self.call(ep_inf.delete_face(face_id))

    def search_people(self, q: str, limit: int | None = None) -> PersonSearch:
        """Persons by name prefix, ignoring case and accents."""
        return self.call(ep_inf.search_people(q, limit))

    def regroup_people(self) -> RegroupStatus:
        """Admin: start grouping every face again, keeping every decision (background)."""
        return self.call(ep_inf.regroup_people())

    def regroup_status(self) -> RegroupStatus:
        """Admin: state of the last full regroup (running, completed or failed)."""
        return self.call(ep_inf.regroup_status())

    def job_events(
        self, job_id: int | str | None = None, media_store_id: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Job lifecycle events (SSE) as dicts, until the iterator is closed."""
        return self._sse(ep_inf.events(job_id, media_store_id))
