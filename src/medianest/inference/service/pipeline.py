"""What the change feed means for jobs: queue the default pipeline, or forget a deleted media."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from medianest.contracts.store import ChangeOp, ChangeRecord
from medianest.inference import events
from medianest.inference.models import JobStatus
from medianest.inference.repository import jobs as repository
from medianest.inference.service.jobs import enqueue
from medianest.inference.service.runtime import Runtime
from medianest.inference.tasks import SinkContext, get_task
from medianest.inference.tasks.registry import all_sinks

log = logging.getLogger("medianest.inference.pipeline")
FEED = "media_store"


def apply_changes(session: Session, rt: Runtime, records: list[ChangeRecord], cursor: int) -> int:
    """Apply one page of change records and advance the cursor, in the caller's transaction."""
    queued = 0
    for record in records:
        queued += apply_change(session, rt, record)
    repository.set_cursor(session, FEED, cursor)
    return queued


def apply_change(session: Session, rt: Runtime, record: ChangeRecord) -> int:
    media_id = record.entity_id
    if record.op == ChangeOp.deleted:
        media_deleted(session, rt, media_id)
        return 0
    if record.is_collection or record.type not in ("image", "video"):
        return 0
    md5 = record.md5
    if (
        record.op == ChangeOp.updated
        and md5 is not None
        and repository.media_md5(session, media_id) == md5
    ):
        return 0  # metadata-only change: same content, nothing to recompute
    repository.set_media_state(session, media_id, md5, record.version)
    return queue_pipeline(session, rt, media_id, str(record.type))


def queue_pipeline(session: Session, rt: Runtime, media_id: int, media_type: str) -> int:
    if not rt.settings.auto_pipeline:
        return 0
    queued = 0
    for name in rt.settings.pipeline:
        task = get_task(name, enable_test=rt.settings.enable_test_tasks)
        if task is None:
            log.warning("pipeline names an unknown task type", extra={"task_type": name})
            continue
        if media_type in task.media_types and enqueue(session, rt, name, media_id) is not None:
            queued += 1
    return queued


def media_deleted(session: Session, rt: Runtime, media_id: int) -> None:
    """Delete the media's jobs and everything the sinks stored for it."""
    repository.forget_media(session, media_id)
    for job in repository.jobs_for_media(session, media_id):
        if job.status in (JobStatus.pending.value, JobStatus.processing.value):
            events.stage(session, events.job_event("cancelled", job, reason="media deleted"))
        session.delete(job)
    ctx = SinkContext(session, rt.resources)
    for sink in all_sinks():
        sink.delete(ctx, media_id)
