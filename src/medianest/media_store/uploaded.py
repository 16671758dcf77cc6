"""An uploaded file spooled to the temp folder: what the service layer receives.

Kept apart from the Starlette/multipart parsing (``media_store/upload.py``) so the service layer
imports no web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class UploadedFile:
    """An upload in the temp folder with its size and hashes."""

    path: Path
    size: int
    md5: str
    sha256: str
    filename: str | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
