"""Entity endpoints: CRUD, uploads, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from medianest.common.security import Admin, StoreRead, StoreWrite
from medianest.media_store.config import VideoStreams
from medianest.media_store.metrics import StoreMetricsDep
from medianest.media_store.routes.deps import (
    MULTIPART_BODY,
    Ctx,
    ReadSession,
    WriteSession,
    parse_fields,
)
from medianest.media_store.schemas import (
    EntityPage,
    EntityPatch,
    EntityQuery,
    EntityRead,
    VersionRead,
)
from medianest.media_store.service import entities, streams, uploads, versions
from medianest.media_store.service.maintenance import remove_unreferenced
from medianest.media_store.upload import read_upload_form

router = APIRouter(prefix="/entity", tags=["entities"])
EntityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
VersionNumber = Annotated[int | None, Query(ge=1)]


@router.get(
    "/",
    response_model=EntityPage,
    responses={422: {"description": "bad parameter, a min above its max, or a foreign cursor"}},
)
def list_entities(
    _: StoreRead, session: ReadSession, ctx: Ctx, query: Annotated[EntityQuery, Query()]
) -> EntityPage:
    """List entities with filters and order, by page number or after a cursor."""
    return entities.list_entities(session, query, ctx.counts)


@router.post(
    "/",
    response_model=EntityRead,
    status_code=201,
    openapi_extra=MULTIPART_BODY,
    responses={200: {"model": EntityRead, "description": "content already stored"}},
)
async def create_entity(
    request: Request,
    response: Response,
    tasks: BackgroundTasks,
    user: StoreWrite,
    session: WriteSession,
    read_session: ReadSession,
    ctx: Ctx,
    metrics: StoreMetricsDep,
) -> EntityRead:
    """Create a collection or upload media (200 with the existing entity for known content)."""
    settings = request.app.state.settings
    form = await read_upload_form(
        request, ctx.storage, settings.max_upload_bytes, settings.max_field_bytes
    )
    try:
        fields = parse_fields(form.fields)
        read, created = await run_in_threadpool(
            uploads.create, session, read_session, ctx, fields, form.file, user.id
        )
    finally:
        form.discard()
    if form.file is not None:
        metrics.uploaded(form.file.size, new_content=created)
    if not created:
        response.status_code = 200
    elif settings.video_streams == VideoStreams.eager:
        tasks.add_task(streams.after_upload, ctx, read)
    return read


@router.delete("/", status_code=200)
def delete_all_entities(
    _: Admin, session: WriteSession, ctx: Ctx, request: Request, tasks: BackgroundTasks
) -> dict[str, int]:
    """Delete every entity, its history and its files (admin only)."""
    count, shas = entities.delete_all(session)
    tasks.add_task(remove_unreferenced, request.app.state.db, ctx.storage, shas)
    return {"deleted": count}


@router.get("/{entity_id}", response_model=EntityRead)
def get_entity(
    entity_id: EntityId, _: StoreRead, session: ReadSession, version: VersionNumber = None
) -> EntityRead:
    """Read an entity, or its N-th version (1-based) with ``version=N``."""
    return entities.get(session, entity_id, version)


@router.put("/{entity_id}", response_model=EntityRead, openapi_extra=MULTIPART_BODY)
async def replace_entity(
    entity_id: EntityId,
    request: Request,
    tasks: BackgroundTasks,
    user: StoreWrite,
    session: WriteSession,
    read_session: ReadSession,
    ctx: Ctx,
    metrics: StoreMetricsDep,
) -> EntityRead:
    """Full update (multipart); an optional new file replaces the content."""
    settings = request.app.state.settings
    form = await read_upload_form(
        request, ctx.storage, settings.max_upload_bytes, settings.max_field_bytes
    )
    try:
        fields = parse_fields(form.fields)
        read = await run_in_threadpool(
            uploads.replace, session, read_session, ctx, entity_id, fields, form.file, user.id
        )
    finally:
        form.discard()
    if form.file is not None:  # after the commit: the old content's stream, the new one's
        tasks.add_task(streams.drop_replaced, request.app.state.db, ctx, entity_id)
        if settings.video_streams == VideoStreams.eager:
            tasks.add_task(streams.after_upload, ctx, read)
    if form.file is not None:
        metrics.uploaded(form.file.size, new_content=True)
    return read


@router.patch("/{entity_id}", response_model=EntityRead)
def patch_entity(
    entity_id: EntityId, payload: EntityPatch, user: StoreWrite, session: WriteSession
) -> EntityRead:
    """Change only the sent fields; ``is_deleted`` moves to or from the trash."""
    return entities.patch(session, entity_id, payload.body, user.id)


@router.delete("/{entity_id}", status_code=204)
def delete_entity(
    entity_id: EntityId,
    _: StoreWrite,
    session: WriteSession,
    ctx: Ctx,
    request: Request,
    tasks: BackgroundTasks,
) -> Response:
    """Hard delete: the row, its versions and (after commit) its unreferenced files."""
    shas = entities.hard_delete(session, entity_id)
    tasks.add_task(remove_unreferenced, request.app.state.db, ctx.storage, shas)
    return Response(status_code=204, background=tasks)


@router.get("/{entity_id}/versions", response_model=list[VersionRead])
def list_versions(entity_id: EntityId, _: StoreRead, session: ReadSession) -> list[VersionRead]:
    """Every version with who changed it, when, and which fields."""
    return versions.list_versions(session, entity_id)


@router.post("/{entity_id}/versions/{number}/restore", response_model=EntityRead)
def restore_version(
    entity_id: EntityId,
    number: Annotated[int, Path(ge=1)],
    user: StoreWrite,
    session: WriteSession,
    ctx: Ctx,
) -> EntityRead:
    """Make version N's metadata and file current again, as a new version."""
    return versions.restore(session, ctx, entity_id, number, user.id)
