"""Dependencies of the media store routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from medianest.common.deps import ReadSessionDep, SessionDep
from medianest.media_store.schemas import EntityFields
from medianest.media_store.service.audit import AuditRunner
from medianest.media_store.service.context import StoreContext

WriteSession = SessionDep
ReadSession = ReadSessionDep


def _context(request: Request) -> StoreContext:
    ctx: StoreContext = request.app.state.store
    return ctx


Ctx = Annotated[StoreContext, Depends(_context)]


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
                        "parent_id": {"type": "integer"},
                        "image": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}
