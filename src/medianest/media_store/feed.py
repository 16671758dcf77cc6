"""The change feed: rows appended in the entity's own transaction, published after commit.

PostgreSQL hands out sequence values at insert time, not at commit, so a change with a lower cursor
could commit after a follower has already read past it. Every transaction that appends changes
first takes one transaction-scoped advisory lock; appends therefore commit in cursor order and a
follower reading ``cursor > N`` can never skip one. SQLite writers are serialised by
``BEGIN IMMEDIATE`` already.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from medianest.common.events import AfterCommit, Broadcaster, MqttPublisher, stage_after_commit
from medianest.media_store.models import Change, Entity
from medianest.media_store.schemas import ChangeOp, ChangeRecord

log = logging.getLogger("medianest.media_store.feed")

MQTT_TOPIC = "medianest/media_store/changes"
_FEED_LOCK = (0x4D4E, 0x4346)  # arbitrary constant pair: "MN", "CF"
_PENDING = "medianest_changes"
_LOCKED = "medianest_feed_locked"


def now_ms() -> int:
    return int(time.time() * 1000)


def lock_feed(session: Session) -> None:
    """Serialise change appends until this transaction ends (PostgreSQL only)."""
    if session.info.get(_LOCKED):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": _FEED_LOCK[0], "b": _FEED_LOCK[1]},
        )
    session.info[_LOCKED] = True


def append_change(session: Session, entity: Entity, op: ChangeOp, version: int) -> Change:
    """Append one change record; call last in the transaction (the feed lock is held to commit)."""
    lock_feed(session)
    row = Change(
        entity_id=entity.id,
        op=op.value,
        version=version,
        md5=entity.md5,
        is_collection=bool(entity.is_collection),
        type=entity.type,
        at=now_ms(),
    )
    session.add(row)  # inserted at the next flush, always after the lock above
    stage_after_commit(session, _PENDING, row)
    return row


def to_record(row: Change) -> dict[str, Any]:
    return ChangeRecord.model_validate(row, from_attributes=True).model_dump(mode="json")


class ChangePublisher:
    """Publishes committed change records to SSE subscribers and, when configured, to MQTT."""

    def __init__(self, broadcaster: Broadcaster, mqtt: MqttPublisher | None) -> None:
        self.broadcaster = broadcaster
        self.mqtt = mqtt

    def publish(self, record: dict[str, Any]) -> None:
        self.broadcaster.publish(record)
        if self.mqtt is not None:
            self.mqtt.publish(MQTT_TOPIC, record)


def install(factory: sessionmaker[Session], publish: Callable[[dict[str, Any]], None]) -> None:
    """Publish each transaction's change records once it has committed (never before)."""
    AfterCommit(_PENDING, lambda row: publish(to_record(row)), clear=(_LOCKED,)).install(factory)
