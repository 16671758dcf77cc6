"""Errors of the media processing library.

Each carries the HTTP status the API should map it to, so the service layer can translate
them without this package importing any web framework.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base of every error raised while analysing an upload."""

    status_code = 500


class UnsupportedMediaError(MediaError):
    """The bytes are not an image or video type MediaNest stores (maps to 415)."""

    status_code = 415


class MediaDecodeError(MediaError):
    """The bytes claim a supported type but cannot be decoded (maps to 422, nothing stored)."""

    status_code = 422


class ExifToolError(MediaError):
    """The exiftool process failed, timed out or died; the next call restarts it (maps to 503)."""

    status_code = 503


class MediaToolError(MediaError):
    """ffmpeg/ffprobe could not run or was killed by a signal: not the file's fault (503)."""

    status_code = 503
