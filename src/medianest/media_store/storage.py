"""Content-addressed files: ``files/ab/cd/<sha256>`` and ``renditions/<sha256>.<kind>.<ext>``.

:class:`FileStorage` is the interface the store uses; :class:`Storage` keeps the files in a local
folder (the default) and ``storage_s3.S3Storage`` in an S3-compatible bucket. Both keep upload
temp files in a local spool folder (``tmp/``), where the analysers (exiftool, ffmpeg) read them.

Every write lands in a temp file first and is renamed into place (atomic on one filesystem), so
a reader never sees half a file. Removal is the caller's decision, made only after the DB commit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Rendition(StrEnum):
    thumbnail = "thumb"
    preview = "preview"


RENDITION_EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg"}
EXTENSION_MIME = {v: k for k, v in RENDITION_EXTENSIONS.items()}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path | None  # None for a file in a bucket
    age_s: float


class RemoteSource(Protocol):
    """What serving a file from object storage needs from its storage."""

    presigned_downloads: bool
    presign_ttl_s: int

    def open_range(self, key: str, start: int, end: int) -> Any: ...

    def presigned_url(self, key: str, ttl_s: int, media_type: str, disposition: str) -> str: ...


@dataclass(frozen=True)
class RemoteFile:
    """A file in object storage: served by streaming it (or by a presigned redirect)."""

    key: str
    size: int
    source: RemoteSource = field(compare=False, repr=False)


Located = Path | RemoteFile


class FileStorage(ABC):
    """Where originals and renditions live; upload temp files are always local (``tmp_dir``)."""

    root: Path  # the local folder (spool, and everything else for the local storage)
    tmp_dir: Path

    @staticmethod
    def relative_path(sha256: str) -> str:
        """The store-relative path of an original (what the API shows as ``file_path``)."""
        return f"files/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def new_temp(self, suffix: str = ".part") -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=suffix)
        return fd, Path(name)

    def stale_temps(self, min_age_s: float) -> Iterator[Path]:
        now = time.time()
        for path in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime >= min_age_s:
                    yield path

    @abstractmethod
    def has_original(self, sha256: str) -> bool: ...

    @abstractmethod
    def locate_original(self, sha256: str) -> Located | None: ...

    @abstractmethod
    def place_original(self, temp: Path, sha256: str) -> None:
        """Move an uploaded temp file into its content address (dropping it if already there)."""

    @abstractmethod
    def write_rendition(self, sha256: str, kind: Rendition, data: bytes, mime: str) -> None: ...

    @abstractmethod
    def locate_rendition(self, sha256: str, kind: Rendition) -> tuple[Located, str] | None:
        """The rendition and its MIME type, or None when there is none."""

    @abstractmethod
    def remove(self, sha256: str) -> bool:
        """Remove an original and its renditions; True when the original existed."""

    @abstractmethod
    def remove_renditions(self, sha256: str) -> int: ...

    @abstractmethod
    def originals(self) -> Iterator[StoredFile]: ...

    @abstractmethod
    def rendition_owners(self) -> set[str]: ...

    # -- whole-store access by store-relative name (backup and restore) -------------------

    @abstractmethod
    def list_stored(self) -> Iterator[tuple[str, int, int]]:
        """Every original and rendition: (``files/..`` or ``renditions/..``, size, mtime ns)."""

    @abstractmethod
    def open_stored(self, name: str) -> BinaryIO:
        """Read a stored file (FileNotFoundError when it is gone)."""

    @abstractmethod
    def put_stored(self, name: str, source: Readable) -> None:
        """Write a stored file by name (atomically: all of it or nothing)."""

    @abstractmethod
    def delete_stored(self, name: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - nothing to release for a folder
        """Release clients and connections."""


class Storage(FileStorage):
    """The media store's folder: originals, renditions and upload temp files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files_dir = root / "files"
        self.renditions_dir = root / "renditions"
        self.tmp_dir = root / "tmp"
        self.streams_dir = root / "streams"  # HLS streams by sha256 (see media_store/streams.py)
        for folder in (self.files_dir, self.renditions_dir, self.tmp_dir, self.streams_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def original(self, sha256: str) -> Path:
        return self.root / self.relative_path(sha256)

    def has_original(self, sha256: str) -> bool:
        return self.original(sha256).exists()

    def locate_original(self, sha256: str) -> Located | None:
        path = self.original(sha256)
        return path if path.exists() else None

    def locate_rendition(self, sha256: str, kind: Rendition) -> tuple[Located, str] | None:
        return self.rendition(sha256, kind)

    def remove_renditions(self, sha256: str) -> int:
        paths = list(self.renditions_dir.glob(f"{sha256}.*"))
        for path in paths:
            path.unlink(missing_ok=True)
        return len(paths)

    def place_original(self, temp: Path, sha256: str) -> None:
        target = self.original(sha256)
        if target.exists():
            temp.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)

    def write_rendition(self, sha256: str, kind: Rendition, data: bytes, mime: str) -> None:
        target = self.renditions_dir / f"{sha256}.{kind.value}.{RENDITION_EXTENSIONS[mime]}"
        fd, temp = self.new_temp(".rendition")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def rendition(self, sha256: str, kind: Rendition) -> tuple[Path, str] | None:
        """The rendition file and its MIME type, or None when there is none."""
        for ext, mime in EXTENSION_MIME.items():
            path = self.renditions_dir / f"{sha256}.{kind.value}.{ext}"
            if path.exists():
                return path, mime
        return None

    def remove(self, sha256: str) -> bool:
        """Remove an original, its renditions and its stream; True when the original existed."""
        for path in self.renditions_dir.glob(f"{sha256}.*"):
            path.unlink(missing_ok=True)
        self.remove_stream(sha256)
        original = self.original(sha256)
        existed = original.exists()
        original.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # keep empty fan-out folders tidy when possible
            original.parent.rmdir()
            original.parent.parent.rmdir()
        return existed

    def remove_stream(self, sha256: str) -> None:
        shutil.rmtree(self.streams_dir / sha256, ignore_errors=True)
        (self.streams_dir / f"{sha256}.failed").unlink(missing_ok=True)

    def stream_owners(self) -> set[str]:
        """The sha256 of every stream (or failure marker); work folders are not counted."""
        names = (p.name for p in self.streams_dir.iterdir() if not p.name.startswith("."))
        return {n.removesuffix(".failed") for n in names}

    def originals(self) -> Iterator[StoredFile]:
        now = time.time()
        for path in self.files_dir.glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                yield StoredFile(path.name, path, now - path.stat().st_mtime)

    def rendition_owners(self) -> set[str]:
        return {p.name.split(".", 1)[0] for p in self.renditions_dir.iterdir()}

    def list_stored(self) -> Iterator[tuple[str, int, int]]:
        for sub, pattern in (("files", "*/*/*"), ("renditions", "*")):
            for path in sorted((self.root / sub).glob(pattern)):
                with contextlib.suppress(FileNotFoundError):
                    stat = path.stat()
                    yield path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime_ns

    def _stored_path(self, name: str) -> Path:
        if not name.startswith(("files/", "renditions/")) or ".." in name.split("/"):
            raise ValueError(f"not a stored file name: {name!r}")
        return self.root / name

    def open_stored(self, name: str) -> BinaryIO:
        return self._stored_path(name).open("rb")

    def put_stored(self, name: str, source: Readable) -> None:
        target = self._stored_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = self.new_temp(".restoring")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete_stored(self, name: str) -> None:
        self._stored_path(name).unlink(missing_ok=True)
