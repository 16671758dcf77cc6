"""Entity endpoints: CRUD, uploads, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from medianest.common.openapi import errors, link, path_ref
from medianest.common.security import Admin, StoreRead, StoreWrite
from medianest.contracts.ids import MAX_ID
from medianest.media_store.config import VideoStreams
from medianest.media_store.metrics import StoreMetricsDep
from medianest.media_store.routes.deps import (
    MULTIPART_BODY,
    Ctx,
    Db,
    ReadSession,
    StoreSettings,
    UploadDep,
    WriteSession,
)
from medianest.media_store.schemas import (
    DeleteAllResult,
    EntityPage,
    EntityPatch,
    EntityQuery,
    EntityRead,
    VersionRead,
)
from medianest.media_store.service import entities, streams, uploads, versions
from medianest.media_store.service.maintenance import remove_unreferenced

router = APIRouter(prefix="/entity", tags=["entities"])
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]
VersionNumber = Annotated[int | None, Query(ge=1, le=MAX_ID)]
READ_ENTITY = {
    "links": {
        "ReadEntity": link(
            path_ref("/entity/{entity_id}"), "the entity", entity_id="$response.body#/id"
        )
    }
}


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
    responses={
        200: {"model": EntityRead, "description": "content already stored", **READ_ENTITY},
        201: READ_ENTITY,
        **errors(409),
    },
)
async def create_entity(
    response: Response,
    up: UploadDep,
    tasks: BackgroundTasks,
    settings: StoreSettings,
    metrics: StoreMetricsDep,
) -> EntityRead:
    """Create a collection or upload media (200 with the existing entity for known content)."""
    read, created = await run_in_threadpool(
        uploads.create, up.session, up.read_session, up.ctx, up.fields, up.file, up.user_id
    )
    if up.file is not None:
        metrics.uploaded(up.file.size, new_content=created)
    if not created:
        response.status_code = 200
    elif settings.video_streams == VideoStreams.eager:
        tasks.add_task(streams.after_upload, up.ctx, read)
    return read


@router.delete("/", status_code=200)
def delete_all_entities(
    _: Admin, session: WriteSession, ctx: Ctx, db: Db, tasks: BackgroundTasks
) -> DeleteAllResult:
    """Delete every entity, its history and its files (admin only)."""
    count, shas = entities.delete_all(session)
    tasks.add_task(remove_unreferenced, db, ctx.storage, shas)
    return DeleteAllResult(deleted=count)


@router.get("/{entity_id}", response_model=EntityRead, responses=errors(404))
def get_entity(
    entity_id: EntityId, _: StoreRead, session: ReadSession, version: VersionNumber = None
) -> EntityRead:
    """Read an entity, or its N-th version (1-based) with ``version=N``."""
    return entities.get(session, entity_id, version)


@router.put(
    "/{entity_id}",
    response_model=EntityRead,
    openapi_extra=MULTIPART_BODY,
    responses=errors(404, 409),
)
async def replace_entity(
    entity_id: EntityId,
    up: UploadDep,
    tasks: BackgroundTasks,
    db: Db,
    settings: StoreSettings,
    metrics: StoreMetricsDep,
) -> EntityRead:
    """Full update (multipart); an optional new file replaces the content."""
    read = await run_in_threadpool(
        uploads.replace, up.session, up.read_session, up.ctx, entity_id, up.fields, up.file,
        up.user_id,
    )  # fmt: skip
    if up.file is not None:  # after the commit: the old content's stream, the new one's
        metrics.uploaded(up.file.size, new_content=True)
        tasks.add_task(streams.drop_replaced, db, up.ctx, entity_id)
        if settings.video_streams == VideoStreams.eager:
            tasks.add_task(streams.after_upload, up.ctx, read)
    return read


@router.patch("/{entity_id}", response_model=EntityRead, responses=errors(404, 409))
def patch_entity(
    entity_id: EntityId, payload: EntityPatch, user: StoreWrite, session: WriteSession
) -> EntityRead:
    """Change only the sent fields; ``is_deleted`` moves to or from the trash."""
    return entities.patch(session, entity_id, payload.body, user.id)


@router.delete("/{entity_id}", status_code=204, responses=errors(404, 409))
def delete_entity(
    entity_id: EntityId,
    _: StoreWrite,
    session: WriteSession,
    ctx: Ctx,
    db: Db,
    tasks: BackgroundTasks,
) -> Response:
    """Hard delete: the row, its versions and (after commit) its unreferenced files."""
    shas = entities.hard_delete(session, entity_id)
    tasks.add_task(remove_unreferenced, db, ctx.storage, shas)
    return Response(status_code=204, background=tasks)


@router.get("/{entity_id}/versions", response_model=list[VersionRead], responses=errors(404))
def list_versions(entity_id: EntityId, _: StoreRead, session: ReadSession) -> list[VersionRead]:
    """Every version with who changed it, when, and which fields."""
    return versions.list_versions(session, entity_id)


@router.post(
    "/{entity_id}/versions/{number}/restore",
    response_model=EntityRead,
    responses=errors(404, 409),
)
def restore_version(
    entity_id: EntityId,
    number: Annotated[int, Path(ge=1, le=MAX_ID)],
    user: StoreWrite,
    session: WriteSession,
    ctx: Ctx,
) -> EntityRead:
    """Make version N's metadata and file current again, as a new version."""
    return versions.restore(session, ctx, entity_id, number, user.id)
