"""Dependencies of the media store routes: typed app objects and the parsed upload form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from medianest.common.deps import DatabaseDep, ReadSessionDep, SessionDep, app_state
from medianest.common.events import Broadcaster
from medianest.common.openapi import raises
from medianest.common.security import StoreWrite
from medianest.media_store.config import Settings
from medianest.media_store.schemas import EntityFields
from medianest.media_store.service.audit import AuditRunner
from medianest.media_store.service.context import StoreContext
from medianest.media_store.service.settings_flag import ReadAuthFlag
from medianest.media_store.upload import read_upload_form
from medianest.media_store.uploaded import UploadedFile

WriteSession = SessionDep
ReadSession = ReadSessionDep
Db = DatabaseDep
Ctx = Annotated[StoreContext, Depends(app_state("store", StoreContext))]
StoreSettings = Annotated[Settings, Depends(app_state("settings", Settings))]
Events = Annotated[Broadcaster, Depends(app_state("broadcaster", Broadcaster))]
ReadAuth = Annotated[ReadAuthFlag, Depends(app_state("read_auth_required", ReadAuthFlag))]


def _auditor(request: Request) -> AuditRunner:
    runner: AuditRunner = request.app.state.auditor
    return runner


Auditor = Annotated[AuditRunner, Depends(_auditor)]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_fields(raw: dict[str, str]) -> EntityFields:
    """Validate multipart form fields into EntityFields (422 in FastAPI's error shape)."""
    data: dict[str, object] = {k: raw[k] for k in ("label", "description") if k in raw}
    if "is_collection" in raw:
        flag = raw["is_collection"].strip().lower()
        data["is_collection"] = flag in _TRUE if flag in _TRUE | _FALSE else raw["is_collection"]
    parent = raw.get("parent_id", "").strip()
    data["parent_id"] = parent or None
    try:
        return EntityFields.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from exc


@dataclass(frozen=True)
class Upload:
    """A parsed entity form: its validated fields and the spooled file, if any."""

    fields: EntityFields
    file: UploadedFile | None


@raises(400, 413, 415, 422, 507)
async def upload_form(request: Request, ctx: Ctx, settings: StoreSettings) -> AsyncIterator[Upload]:
    """Stream the multipart body to a temp file; the file is discarded after the request."""
    form = await read_upload_form(
        request, ctx.storage, settings.max_upload_bytes, settings.max_field_bytes
    )
    try:
        yield Upload(parse_fields(form.fields), form.file)
    finally:
        form.discard()


UploadFormDep = Annotated[Upload, Depends(upload_form, scope="function")]


@dataclass(frozen=True)
class UploadRequest:
    """An authorised multipart create or replace: the caller, the form and the sessions."""

    user_id: int
    fields: EntityFields
    file: UploadedFile | None
    session: Session
    read_session: Session
    ctx: StoreContext


def upload_request(
    user: StoreWrite,  # first: an unauthorised upload is refused before its body is read
    form: UploadFormDep,
    session: WriteSession,
    read_session: ReadSession,
    ctx: Ctx,
) -> UploadRequest:
    return UploadRequest(user.id, form.fields, form.file, session, read_session, ctx)


UploadDep = Annotated[UploadRequest, Depends(upload_request)]

MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["is_collection"],
                    "properties": {
                        "is_collection": {"type": "boolean"},
                        "label": {"type": "string", "maxLength": 255},
                        "description": {"type": "string", "maxLength": 10000},
                        "parent_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        "image": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}
