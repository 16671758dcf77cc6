"""Totals of the entity list, cached per filter set until the next entity change.

Counting is O(matches); a person paging through a list asks the same count again and again.
Every entity write appends a change-feed row in its own transaction, and feed rows commit in
cursor order (feed.py), so "the newest change cursor seen in my snapshot" names the state the
count was taken in: a cached total is reused only under the same cursor, never across a write.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session

from medianest.media_store import repository as repo
from medianest.media_store.schemas import EntityQuery

# Parameters that change which page is shown, not what is counted
_PAGE_FIELDS = {"page", "page_size", "after", "order_by", "order"}


class CountCache:
    """A small LRU of (filters, change cursor) -> total, shared by a process's requests."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._lock = threading.Lock()

    def total(self, session: Session, query: EntityQuery) -> int:
        key = (query.model_dump_json(exclude=_PAGE_FIELDS), repo.latest_change(session))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        total = repo.count_entities(session, query)
        with self._lock:
            self._items[key] = total
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return total
