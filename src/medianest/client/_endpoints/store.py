"""Media store endpoints (port 8000)."""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from medianest.client._base import (
    Call,
    FilesOpener,
    clean_params,
    parse_as,
    parse_json,
    parse_none,
)
from medianest.client.models import (
    AuditRunRead,
    Banner,
    ChangesPage,
    DuplicateGroups,
    EntityFilters,
    EntityPage,
    EntityPatchBody,
    EntityRead,
    LabelLookupResult,
    LookupRequest,
    LookupResponse,
    LookupResult,
    NearDuplicates,
    ReadAuthConfig,
    ReadAuthUpdate,
    StorageReport,
    UploadResult,
    VersionRead,
)

LOOKUP_BATCH = 1000


def _entity_path(entity_id: int, suffix: str = "") -> str:
    return f"/entity/{entity_id}{suffix}"


def _parse_upload(response: httpx.Response) -> UploadResult:
    entity = EntityRead.model_validate(response.json())
    return UploadResult(entity=entity, created=response.status_code == 201)


class CountingReader:
    """A binary file that reports bytes as httpx reads them (and takes them back on a rewind,
    which is what a retry does), so progress bars move while a big file streams."""

    def __init__(self, fh: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self._fh, self._on_bytes, self._sent = fh, on_bytes, 0

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._sent += len(data)
        self._on_bytes(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self._fh.seek(offset, whence)
        if pos == 0 and self._sent:
            self._on_bytes(-self._sent)
            self._sent = 0
        return pos

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()


def path_opener(path: Path, on_bytes: Callable[[int], None] | None = None) -> FilesOpener:
    """Re-opens the file for every attempt; httpx streams it in chunks, never whole.
    ``on_bytes`` hears each chunk, and the bytes of a failed attempt are taken back."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    sent = [0]

    def count(n: int) -> None:
        sent[0] += n
        if on_bytes:
            on_bytes(n)

    @contextlib.contextmanager
    def opener() -> Iterator[dict[str, Any]]:
        if sent[0]:
            count(-sent[0])
        with path.open("rb") as fh:
            body: Any = CountingReader(fh, count) if on_bytes else fh
            yield {"image": (path.name, body, content_type)}

    return opener


def fileobj_opener(fileobj: IO[bytes], filename: str) -> FilesOpener:
    start = fileobj.tell() if fileobj.seekable() else None

    @contextlib.contextmanager
    def opener() -> Iterator[dict[str, Any]]:
        if start is not None:
            fileobj.seek(start)
        yield {"image": (filename, fileobj, "application/octet-stream")}

    return opener


def fields_opener(form: dict[str, str], files: FilesOpener | None = None) -> FilesOpener:
    """Sends form fields as multipart parts (the store takes multipart only), with the file
    part of ``files`` when given."""

    @contextlib.contextmanager
    def opener() -> Iterator[dict[str, Any]]:
        parts: dict[str, Any] = {k: (None, v) for k, v in form.items()}
        if files is None:
            yield parts
            return
        with files() as file_parts:
            yield {**parts, **file_parts}

    return opener


def _form(**fields: Any) -> dict[str, str]:
    return {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in fields.items()
        if v is not None
    }


def banner() -> Call[Banner]:
    return Call("GET", "store", "/", parse_as(Banner), auth=False)


def list_entities(page: int, page_size: int, filters: EntityFilters) -> Call[EntityPage]:
    params = clean_params(page=page, page_size=page_size, **filters)
    return Call("GET", "store", "/entity/", parse_as(EntityPage), params=params)


def get_entity(entity_id: int, version: int | None = None) -> Call[EntityRead]:
    params = clean_params(version=version)
    return Call("GET", "store", _entity_path(entity_id), parse_as(EntityRead), params=params)


def create_collection(
    label: str, description: str | None = None, parent_id: int | None = None
) -> Call[EntityRead]:
    form = _form(is_collection=True, label=label, description=description, parent_id=parent_id)
    opener = fields_opener(form)
    return Call("POST", "store", "/entity/", parse_as(EntityRead), files=opener)


def upload(
    files: FilesOpener,
    *,
    label: str | None = None,
    description: str | None = None,
    parent_id: int | None = None,
    idempotent: bool = True,
) -> Call[UploadResult]:
    """Multipart upload; idempotent because the store returns the existing entity for known
    content (200) instead of creating a second one, so a retry after a lost response is safe."""
    form = _form(is_collection=False, label=label, description=description, parent_id=parent_id)
    return Call(
        "POST", "store", "/entity/", _parse_upload, data=form, files=files, idempotent=idempotent
    )


def replace_entity(
    entity_id: int,
    files: FilesOpener | None,
    *,
    label: str | None = None,
    description: str | None = None,
    parent_id: int | None = None,
    is_collection: bool = False,
) -> Call[EntityRead]:
    """Full update: fields not given are cleared; ``is_collection`` must match the entity."""
    form = _form(
        is_collection=is_collection, label=label, description=description, parent_id=parent_id
    )
    path = _entity_path(entity_id)
    if files is None:
        return Call("PUT", "store", path, parse_as(EntityRead), files=fields_opener(form))
    return Call("PUT", "store", path, parse_as(EntityRead), data=form, files=files)


def patch_entity(entity_id: int, changes: dict[str, Any]) -> Call[EntityRead]:
    """Only the keys present change; an explicit ``None`` clears the field."""
    body = EntityPatchBody.model_validate(changes).model_dump(mode="json", exclude_unset=True)
    path = _entity_path(entity_id)
    return Call("PATCH", "store", path, parse_as(EntityRead), json={"body": body}, idempotent=True)


def delete_entity(entity_id: int) -> Call[None]:
    return Call("DELETE", "store", _entity_path(entity_id), parse_none)


def delete_all() -> Call[Any]:
    return Call("DELETE", "store", "/entity/", _json_or_none)


def versions(entity_id: int) -> Call[list[VersionRead]]:
    path = _entity_path(entity_id, "/versions")
    return Call("GET", "store", path, parse_as(list[VersionRead]))


def restore_version(entity_id: int, version: int) -> Call[EntityRead]:
    path = _entity_path(entity_id, f"/versions/{version}/restore")
    return Call("POST", "store", path, parse_as(EntityRead))


def file(entity_id: int, kind: str = "file", version: int | None = None) -> Call[bytes]:
    """``kind`` is ``file``, ``thumbnail`` or ``preview``; the client streams it to disk."""
    params = clean_params(version=version)
    path = _entity_path(entity_id, f"/{kind}")
    return Call("GET", "store", path, lambda r: r.content, params=params)


def metadata(entity_id: int) -> Call[Any]:
    return Call("GET", "store", _entity_path(entity_id, "/metadata"), parse_json)


def lookup(hashes: list[str]) -> Call[list[LookupResult]]:
    body = LookupRequest(hashes=hashes).model_dump()
    return Call("POST", "store", "/entity/lookup", _parse_lookup, json=body, idempotent=True)


def _parse_lookup(response: httpx.Response) -> list[LookupResult]:
    return LookupResponse.model_validate(response.json()).results


def lookup_labels(labels: list[str]) -> Call[list[LabelLookupResult]]:
    body = {"labels": labels}
    return Call("POST", "store", "/entity/lookup", _parse_label_lookup, json=body, idempotent=True)


def _parse_label_lookup(response: httpx.Response) -> list[LabelLookupResult]:
    return LookupResponse.model_validate(response.json()).label_results


def storage_report() -> Call[StorageReport]:
    return Call("GET", "store", "/admin/storage", parse_as(StorageReport))


def start_audit() -> Call[AuditRunRead]:
    return Call("POST", "store", "/admin/audit", parse_as(AuditRunRead))


def get_audit(audit_id: int | None = None) -> Call[AuditRunRead]:
    """One audit, or the latest with ``None``."""
    path = "/admin/audit/latest" if audit_id is None else f"/admin/audit/{audit_id}"
    return Call("GET", "store", path, parse_as(AuditRunRead))


def near_duplicates(entity_id: int, max_distance: int | None = None) -> Call[NearDuplicates]:
    params = clean_params(max_distance=max_distance)
    path = _entity_path(entity_id, "/near-duplicates")
    return Call("GET", "store", path, parse_as(NearDuplicates), params=params)


def duplicates(max_distance: int | None = None) -> Call[DuplicateGroups]:
    params = clean_params(max_distance=max_distance)
    return Call("GET", "store", "/duplicates", parse_as(DuplicateGroups), params=params)


def changes(since: int = 0, limit: int = 100) -> Call[ChangesPage]:
    params = clean_params(since=since, limit=limit)
    return Call("GET", "store", "/changes", parse_as(ChangesPage), params=params)


def get_config() -> Call[ReadAuthConfig]:
    return Call("GET", "store", "/admin/config", parse_as(ReadAuthConfig))


def set_read_auth(enabled: bool) -> Call[ReadAuthConfig]:
    body = ReadAuthUpdate(enabled=enabled).model_dump()
    return Call("PUT", "store", "/admin/config/read-auth", parse_as(ReadAuthConfig), json=body)


def _json_or_none(response: httpx.Response) -> Any:
    return response.json() if response.content else None


def events() -> Call[None]:
    return Call("GET", "store", "/events", parse_none)
