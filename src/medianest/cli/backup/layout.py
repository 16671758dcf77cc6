"""What an installation consists of, read from the same environment the services read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medianest.authentication.config import Settings as AuthSettings
from medianest.cli.backup.databases import DatabaseRef
from medianest.common.settings import CommonSettings
from medianest.inference.config import Settings as InferenceSettings
from medianest.media_store.config import Settings as StoreSettings
from medianest.media_store.storage import FileStorage

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Installation:
    home: Path
    databases: list[DatabaseRef]  # in backup order: auth, inference, then the store (see below)
    store_root: Path
    vectors_dir: Path
    qdrant_url: str | None
    urls: dict[str, str]
    max_attempts: int
    storage: FileStorage  # the store's originals and renditions: a folder or a bucket

    def database(self, service: str) -> DatabaseRef:
        return next(ref for ref in self.databases if ref.service == service)

    def config_files(self) -> Iterator[tuple[str, Path]]:
        """Keys and settings: every regular file in the data dir outside the store's folder,
        the vector store and the SQLite databases (named relative to the data dir)."""
        skip_dirs = {self.store_root, self.vectors_dir}
        db_files = {
            Path(f"{ref.sqlite_path}{suffix}")
            for ref in self.databases
            if ref.kind == "sqlite"
            for suffix in SQLITE_SUFFIXES
        }
        for dirpath, dirnames, filenames in os.walk(self.home):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if here / d not in skip_dirs)
            for name in sorted(filenames):
                path = here / name
                if path in db_files or path.is_symlink() or not path.is_file():
                    continue
                if name.endswith((".restoring", ".part", ".tmp")):
                    continue
                yield path.relative_to(self.home).as_posix(), path


def from_environment() -> Installation:
    auth, store, inference = AuthSettings(), StoreSettings(), InferenceSettings()
    home = CommonSettings().home.resolve()
    # Snapshot order matters across databases: inference before the store, so every job in the
    # inference snapshot refers to media present in the (later) store snapshot; changes the
    # follower had not applied yet are replayed from the restored change feed.
    databases = [
        DatabaseRef("authentication", auth.db_url()),
        DatabaseRef("inference", inference.db_url()),
        DatabaseRef("media_store", store.db_url()),
    ]
    return Installation(
        home=home,
        databases=databases,
        store_root=home / "media_store",
        vectors_dir=home / "vectors",
        qdrant_url=inference.qdrant_url,
        urls={
            "authentication": auth.auth_url,
            "media_store": store.media_store_url,
            "inference": inference.inference_url,
        },
        max_attempts=inference.max_attempts,
        storage=store.open_storage(),
    )
