"""Writing downloads: pick the target name, write to a temp file, rename when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx

from medianest.client._base import filename_from

CHUNK = 1 << 20


def target_path(dest: Path | str, response: httpx.Response, fallback_name: str) -> Path:
    """``dest`` itself, or the server's file name inside ``dest`` when it is a folder (an
    existing one, or a path ending in a separator, which is created)."""
    if isinstance(dest, str) and dest.endswith(("/", os.sep)):
        Path(dest).mkdir(parents=True, exist_ok=True)
    path = Path(dest)
    if path.is_dir():
        return path / filename_from(response, fallback_name)
    return path


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[BinaryIO]:
    """A partial download never replaces a complete file: write aside, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
