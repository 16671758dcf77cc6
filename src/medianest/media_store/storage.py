"""Content-addressed files: ``files/ab/cd/<sha256>`` and ``renditions/<sha256>.<kind>.<ext>``.

Every write lands in a temp file first and is renamed into place (atomic on one filesystem), so
a reader never sees half a file. Removal is the caller's decision, made only after the DB commit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Rendition(StrEnum):
    thumbnail = "thumb"
    preview = "preview"


RENDITION_EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg"}
EXTENSION_MIME = {v: k for k, v in RENDITION_EXTENSIONS.items()}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    age_s: float


class Storage:
    """The media store's folder: originals, renditions and upload temp files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files_dir = root / "files"
        self.renditions_dir = root / "renditions"
        self.tmp_dir = root / "tmp"
        for folder in (self.files_dir, self.renditions_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def relative_path(sha256: str) -> str:
        """The store-relative path of an original (what the API shows as ``file_path``)."""
        return f"files/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def original(self, sha256: str) -> Path:
        return self.root / self.relative_path(sha256)

    def new_temp(self, suffix: str = ".part") -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=suffix)
        return fd, Path(name)

    def place_original(self, temp: Path, sha256: str) -> None:
        """Move an uploaded temp file into its content address (dropping it if already there)."""
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
        """Remove an original and its renditions; True when the original existed."""
        for path in self.renditions_dir.glob(f"{sha256}.*"):
            path.unlink(missing_ok=True)
        original = self.original(sha256)
        existed = original.exists()
        original.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # keep empty fan-out folders tidy when possible
            original.parent.rmdir()
            original.parent.parent.rmdir()
        return existed

    def originals(self) -> Iterator[StoredFile]:
        now = time.time()
        for path in self.files_dir.glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                yield StoredFile(path.name, path, now - path.stat().st_mtime)

    def renditions_bytes(self) -> int:
        """Bytes of every thumbnail and preview on disk (one directory scan)."""
        total = 0
        with os.scandir(self.renditions_dir) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    total += entry.stat(follow_symlinks=False).st_size
        return total

    def rendition_owners(self) -> set[str]:
        return {p.name.split(".", 1)[0] for p in self.renditions_dir.iterdir()}

    def stale_temps(self, min_age_s: float) -> Iterator[Path]:
        now = time.time()
        for path in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime >= min_age_s:
                    yield path
