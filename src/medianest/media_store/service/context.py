"""What the service layer needs besides a session: the file store and the media analyser."""

from __future__ import annotations

from dataclasses import dataclass, field

from medianest.media_store.media import MediaAnalyzer
from medianest.media_store.service.counts import CountCache
from medianest.media_store.storage import FileStorage
from medianest.media_store.streams import StreamBuilder


@dataclass(frozen=True)
class StoreContext:
    storage: FileStorage
    analyzer: MediaAnalyzer
    near_duplicate_distance: int = 8
    counts: CountCache = field(default_factory=CountCache)
    streams: StreamBuilder | None = None  # None: video streaming is off
