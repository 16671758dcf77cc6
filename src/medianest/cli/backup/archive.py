"""The backup folder: content-addressed objects, and the manifest that names them.

``DEST/objects/ab/cd/<sha256>`` holds every backed-up file once, whatever its name (an unchanged
file is never copied twice, and an interrupted backup resumes where it stopped: an object appears
under its final name only once it is complete and its hash checked). ``DEST/manifest.json``,
written last and atomically, maps each logical file (a database snapshot, a key, a media file) to
its sha256 and size; restore trusts nothing else and re-hashes every object against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

FORMAT = "medianest-backup/1"
CHUNK = 1 << 20
Progress = Callable[[int], None]


class CorruptObject(RuntimeError):
    pass


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


@dataclass
class Manifest:
    created_at: str
    version: str
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Entry] = field(default_factory=dict)
    media: dict[str, Entry] = field(default_factory=dict)
    vectors: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def entries(self) -> Iterator[tuple[str, Entry]]:
        for service, db in self.databases.items():
            yield f"database {service}", Entry(db["sha256"], db["size"])
        for name, entry in self.config.items():
            yield name, entry
        for name, entry in self.media.items():
            yield name, entry

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "version": self.version,
            "databases": self.databases,
            "config": {k: v.to_json() for k, v in sorted(self.config.items())},
            "media": {k: v.to_json() for k, v in sorted(self.media.items())},
            "vectors": self.vectors,
            "stats": self.stats,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a MediaNest backup manifest (format {data.get('format')!r})")

        def entries(raw: dict[str, Any]) -> dict[str, Entry]:
            return {k: Entry(str(v["sha256"]), int(v["size"])) for k, v in raw.items()}

        return cls(
            created_at=data["created_at"],
            version=data["version"],
            databases=data["databases"],
            config=entries(data["config"]),
            media=entries(data["media"]),
            vectors=data.get("vectors", {}),
            stats=data.get("stats", {}),
        )


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"

    def path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256[2:4] / sha256

    def has(self, entry: Entry) -> bool:
        path = self.path(entry.sha256)
        return path.is_file() and path.stat().st_size == entry.size

    def put_stream(self, source: BinaryIO, progress: Progress | None = None) -> Entry:
        """Copy ``source`` into the store, hashing it; an existing object is kept as it is."""
        self.objects.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.objects, suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            entry = Entry(digest.hexdigest(), size)
            target = self.path(entry.sha256)
            if self.has(entry):
                tmp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            return entry
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_file(self, path: Path, progress: Progress | None = None) -> Entry:
        with path.open("rb") as source:
            return self.put_stream(source, progress)

    def verify(self, entry: Entry, progress: Progress | None = None) -> str | None:
        """None when the object is there and matches; else what is wrong with it."""
        path = self.path(entry.sha256)
        if not path.is_file():
            return "missing from the backup"
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        if size != entry.size:
            return f"size {size} instead of {entry.size}"
        if digest.hexdigest() != entry.sha256:
            return "content does not match its sha256 (corrupted)"
        return None

    def copy_out(self, entry: Entry, target: Path, progress: Progress | None = None) -> None:
        """Write the object to ``target`` (temp + rename), hashing again while copying."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".restoring")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, self.path(entry.sha256).open("rb") as source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
            if digest.hexdigest() != entry.sha256:
                raise CorruptObject(f"{target.name}: the backup changed while restoring")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def prune(self, keep: set[str]) -> int:
        """Remove objects (and leftover partial copies) no manifest entry names."""
        removed = 0
        if not self.objects.exists():
            return 0
        for path in self.objects.rglob("*"):
            if path.is_file() and (not _is_sha256(path.name) or path.name not in keep):
                path.unlink()
                removed += 1
        return removed


def read_manifest(root: Path) -> Manifest | None:
    path = root / "manifest.json"
    if not path.exists():
        return None
    return Manifest.from_json(json.loads(path.read_text()))


def write_manifest(root: Path, manifest: Manifest) -> None:
    tmp = root / "manifest.json.tmp"
    with tmp.open("w") as out:
        json.dump(manifest.to_json(), out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, root / "manifest.json")
