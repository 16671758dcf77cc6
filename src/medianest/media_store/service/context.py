"""What the service layer needs besides a session: the file store and the media analyser."""

from __future__ import annotations

from dataclasses import dataclass

from medianest.media_store.media import MediaAnalyzer
from medianest.media_store.storage import FileStorage


@dataclass(frozen=True)
class StoreContext:
    storage: FileStorage
    analyzer: MediaAnalyzer
    near_duplicate_distance: int = 8
