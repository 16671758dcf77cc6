"""HTTP endpoints of the media store (thin: parse, authorise, call one service function)."""

from fastapi import APIRouter

from medianest.media_store.routes import (
    admin,
    duplicates,
    entities,
    feed,
    files,
    root,
    streams,
    timeline,
)

router = APIRouter()
for module in (root, entities, files, streams, duplicates, feed, admin, timeline):
    router.include_router(module.router)

__all__ = ["router"]
