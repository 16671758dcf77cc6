"""Routers of the inference API."""

from fastapi import APIRouter

from medianest.inference.routes import admin, jobs, people, search, worker

router = APIRouter()
router.include_router(admin.router)
router.include_router(jobs.router)
router.include_router(people.router)
router.include_router(search.router)
router.include_router(worker.router)

__all__ = ["router"]
