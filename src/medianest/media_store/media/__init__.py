"""Media processing library: type sniffing, metadata, capture date, renditions, pHash.

Pure library code (no web framework, no database) so the API, workers and benchmarks share it.
``MediaAnalyzer.analyze`` is the one entry point; errors map to HTTP statuses via
``status_code`` (415 unsupported, 422 undecodable, 503 exiftool or ffmpeg failure).
"""

from .analyze import MediaAnalyzer, MediaInfo
from .errors import (
    ExifToolError,
    MediaDecodeError,
    MediaError,
    MediaToolError,
    UnsupportedMediaError,
)
from .exiftool import ExifTool
from .phash import hamming
from .sniff import ContentType, sniff

__all__ = [
    "ContentType",
    "ExifTool",
    "ExifToolError",
    "MediaAnalyzer",
    "MediaDecodeError",
    "MediaError",
    "MediaInfo",
    "MediaToolError",
    "UnsupportedMediaError",
    "hamming",
    "sniff",
]
