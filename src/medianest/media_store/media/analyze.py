"""The one entry point: bytes on disk in, everything the media store records out.

Order matters: the type is sniffed from the bytes first (415 for anything else, before any
decoder sees the file), then exiftool reads the metadata, then the pixels are decoded for real
(libvips with a Pillow fallback: the file, a RAW's embedded preview, or an ffmpeg frame), once,
at reduced size, and that one decode feeds the preview, the thumbnail and the pHash; a corrupt
upload fails with ``MediaDecodeError`` (422) before anything is stored.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import probe
from .capture_date import capture_date
from .errors import MediaDecodeError, UnsupportedMediaError
from .exiftool import ExifTool
from .renditions import PREVIEW_SIZE, RAW_PREVIEW_TAGS, THUMBNAIL_SIZE
from .sniff import ContentType, refine_with_exiftool, sniff
from .vips import Rendered, render

# Facts about the server's temporary upload file, not about the media: never exposed.
_PRIVATE_KEYS = frozenset(
    {
        "SourceFile",
        "File:FileName",
        "File:Directory",
        "File:FilePermissions",
        "File:FileAccessDate",
        "File:FileInodeChangeDate",
    }
)


@dataclass(slots=True)
class MediaInfo:
    """Everything extracted from one file; dates in UTC epoch ms, sizes as displayed."""

    mime_type: str
    type: str  # "image" | "video"
    extension: str
    width: int
    height: int
    duration: float | None
    create_date: int
    create_date_source: str
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    orientation: int | None
    phash: str | None  # 16 hex digits; of the poster frame for video
    metadata: dict[str, Any] = field(repr=False)
    thumbnail: bytes = field(repr=False)
    preview: bytes = field(repr=False)
    thumbnail_mime: str = "image/webp"
    preview_mime: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class _Pixels:
    rendered: Rendered
    width: int
    height: int
    duration: float | None = None
    ffprobe: dict[str, Any] | None = None


class MediaAnalyzer:
    """Analyses files with a shared ``ExifTool``; safe to call from several threads."""

    def __init__(
        self,
        exiftool: ExifTool,
        tmp_dir: str | os.PathLike[str] | None = None,
        *,
        thumbnail_size: int = THUMBNAIL_SIZE,
        preview_size: int = PREVIEW_SIZE,
        subprocess_timeout: float = probe.DEFAULT_TIMEOUT,
    ) -> None:
        self.exiftool = exiftool
        self.tmp_dir = Path(tmp_dir if tmp_dir is not None else tempfile.gettempdir())
        self.thumbnail_size = thumbnail_size
        self.preview_size = preview_size
        self.subprocess_timeout = subprocess_timeout

    def analyze(self, path: str | os.PathLike[str], upload_time_ms: int) -> MediaInfo:
        """Sniff, read metadata, decode and render one file; raise a ``MediaError`` subclass."""
        content = sniff(path)
        with self._named_for(path, content) as named:
            metadata = self.exiftool.metadata(named)
            content = refine_with_exiftool(content, metadata)
            orientation = _orientation(metadata)
            if content.media_type == "video":
                pixels = self._video(named)
            else:
                pixels = self._image(named, content, metadata, orientation)
        return self._info(content, metadata, orientation, pixels, upload_time_ms)

    @contextmanager
    def _named_for(
        self, path: str | os.PathLike[str], content: ContentType
    ) -> Iterator[str | os.PathLike[str]]:
        """The file under a name with its true extension (a symlink in ``tmp_dir`` if needed).

        exiftool lets the extension steer its parser: a DNG named ``.txt`` or ``.jpg`` loses
        its PreviewImage tag. Uploads arrive under arbitrary temp names, so give it the real one.
        """
        if Path(path).suffix.lower() == f".{content.extension}":
            yield path
            return
        link = self.tmp_dir / f"analyze-{uuid.uuid4().hex}.{content.extension}"
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            os.symlink(Path(path).absolute(), link)
        except OSError:  # no symlinks here: exiftool still reads it, just less precisely
            linked = False
        else:
            linked = True
        try:
            yield link if linked else path
        finally:
            if linked:
                link.unlink(missing_ok=True)

    def _image(
        self,
        path: str | os.PathLike[str],
        content: ContentType,
        metadata: dict[str, Any],
        orientation: int | None,
    ) -> _Pixels:
        if content.is_raw:
            previews = self.exiftool.binary_tags(path, RAW_PREVIEW_TAGS)
            if not previews:
                raise MediaDecodeError("RAW file has no embedded preview image")
            rendered = self._render(max(previews.values(), key=len), orientation)
            width, height = _raw_size(metadata, orientation) or (rendered.width, rendered.height)
            return _Pixels(rendered, width, height)
        rendered = self._render(path)
        return _Pixels(rendered, rendered.width, rendered.height)

    def _render(
        self, source: str | os.PathLike[str] | bytes, fallback_orientation: int | None = None
    ) -> Rendered:
        return render(
            source,
            fallback_orientation=fallback_orientation,
            thumbnail_size=self.thumbnail_size,
            preview_size=self.preview_size,
        )

    def _video(self, path: str | os.PathLike[str]) -> _Pixels:
        probed = probe.ffprobe(path, timeout=self.subprocess_timeout)
        summary = probe.summarize(probed)
        if summary is None:
            raise UnsupportedMediaError("no video stream (audio-only files are not stored)")
        width, height = summary.display_size
        if width <= 0 or height <= 0:
            raise MediaDecodeError("video stream has no dimensions")
        at = probe.poster_time(summary.duration)
        frame = probe.extract_frame(path, at, timeout=self.subprocess_timeout)
        rendered = self._render(frame)  # already display-rotated by ffmpeg
        probed.get("format", {}).pop("filename", None)  # the server's temp path
        return _Pixels(rendered, width, height, summary.duration, probed)

    def _info(
        self,
        content: ContentType,
        metadata: dict[str, Any],
        orientation: int | None,
        pixels: _Pixels,
        upload_time_ms: int,
    ) -> MediaInfo:
        renditions = pixels.rendered
        created, source = capture_date(metadata, upload_time_ms)
        latitude, longitude = gps_position(metadata)
        public = {k: v for k, v in metadata.items() if k not in _PRIVATE_KEYS}
        if pixels.ffprobe is not None:
            public["ffprobe"] = pixels.ffprobe
        return MediaInfo(
            mime_type=content.mime_type,
            type=content.media_type,
            extension=content.extension,
            width=pixels.width,
            height=pixels.height,
            duration=pixels.duration,
            create_date=created,
            create_date_source=source,
            camera_make=_first_text(metadata, "Make"),
            camera_model=_first_text(metadata, "Model"),
            latitude=latitude,
            longitude=longitude,
            orientation=orientation,
            phash=renditions.phash,  # for video: the poster frame, so re-encodes match
            metadata=public,
            thumbnail=renditions.thumbnail,
            preview=renditions.preview,
            thumbnail_mime=renditions.thumbnail_mime,
            preview_mime=renditions.preview_mime,
        )


def gps_position(metadata: dict[str, Any]) -> tuple[float | None, float | None]:
    """Signed decimal degrees; exiftool's Composite tags already apply the N/S, E/W refs."""
    lat = _number(metadata.get("Composite:GPSLatitude"))
    lon = _number(metadata.get("Composite:GPSLongitude"))
    if lat is None or lon is None:
        lat = _with_ref(metadata, "EXIF:GPSLatitude", "S")
        lon = _with_ref(metadata, "EXIF:GPSLongitude", "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def _with_ref(metadata: dict[str, Any], key: str, negative_ref: str) -> float | None:
    value = _number(metadata.get(key))
    if value is None:
        return None
    ref = str(metadata.get(f"{key}Ref", "")).upper()
    return -abs(value) if ref.startswith(negative_ref) else value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _orientation(metadata: dict[str, Any]) -> int | None:
    for key in ("EXIF:Orientation", "XMP:Orientation"):
        value = metadata.get(key)
        if isinstance(value, int) and 1 <= value <= 8:
            return value
    return None


def _first_text(metadata: dict[str, Any], tag: str) -> str | None:
    for group in ("EXIF", "QuickTime", "XMP", "MakerNotes"):
        value = metadata.get(f"{group}:{tag}")
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _raw_size(metadata: dict[str, Any], orientation: int | None) -> tuple[int, int] | None:
    """Sensor image size of a RAW (its preview may be smaller), as displayed."""
    parts = str(metadata.get("Composite:ImageSize", "")).replace("x", " ").split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    width, height = int(parts[0]), int(parts[1])
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
