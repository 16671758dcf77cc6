"""Collection rules: the parent exists, is a live collection, no cycles, at most 10 levels."""

from __future__ import annotations

from sqlalchemy.orm import Session

from medianest.common.errors import Conflict, Unprocessable
from medianest.media_store import repository as repo

MAX_LEVELS = 10


def check_parent(
    session: Session,
    parent_id: int | None,
    entity_id: int | None = None,
    is_collection: bool = False,
) -> None:
    """Raise a 4xx when ``entity_id`` may not live under ``parent_id``."""
    if parent_id is None:
        return
    if parent_id == entity_id:
        raise Conflict("an entity cannot be its own parent")
    parent = repo.get(session, parent_id)
    if parent is None:
        raise Unprocessable(f"parent {parent_id} does not exist")
    if not parent.is_collection:
        raise Unprocessable(f"parent {parent_id} is not a collection")
    if parent.is_deleted:
        raise Unprocessable(f"parent {parent_id} is in the trash")
    level = _level_below(session, parent_id, entity_id)
    height = _height(session, entity_id) if entity_id is not None and is_collection else 1
    if level + height - 1 > MAX_LEVELS:
        raise Unprocessable(f"collections nest at most {MAX_LEVELS} levels deep")


def _level_below(session: Session, parent_id: int, entity_id: int | None) -> int:
    """The level a child of ``parent_id`` would sit at (top level = 1); detects cycles."""
    level = 1
    current: int | None = parent_id
    seen: set[int] = set()
    while current is not None:
        if current == entity_id:
            raise Conflict("moving a collection under its own descendant would make a cycle")
        if current in seen or level > MAX_LEVELS + 1:
            break
        seen.add(current)
        level += 1
        node = repo.get(session, current)
        current = node.parent_id if node is not None else None
    return level


def _height(session: Session, entity_id: int) -> int:
    """Collection levels in the subtree of ``entity_id`` (1: no sub-collections)."""
    height, frontier = 1, [entity_id]
    while height <= MAX_LEVELS:
        frontier = repo.child_ids(session, frontier)
        if not frontier:
            break
        height += 1
    return height
