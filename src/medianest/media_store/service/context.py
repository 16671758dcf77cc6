"""What the service layer needs besides a session: the file store and the media analyser."""

from __future__ import annotations

from dataclasses import dataclass, field

from medianest.media_store.media import MediaAnalyzer
from medianest.media_store.service.counts import CountCache
from medianest.media_store.storage import Storage


@dataclass(frozen=True)
class StoreContext:
    storage: Storage
    analyzer: MediaAnalyzer
    near_duplicate_distance: int = 8
    counts: CountCache = field(default_factory=CountCache)
