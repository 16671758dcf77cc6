"""Capture time as true UTC epoch milliseconds, from exiftool's ``-G -n`` JSON.

Precedence: EXIF DateTimeOriginal, EXIF CreateDate (digitised), XMP dates, QuickTime dates,
Matroska / RIFF (AVI) dates, the file's modify date, and finally the caller's upload time.

Time zones: an explicit zone wins (a suffix in the value, else OffsetTimeOriginal /
OffsetTimeDigitized / OffsetTime). A naive EXIF time without any offset is treated as UTC: the
camera's zone is unknowable from the file, and guessing the server's zone would make the same
photo's date depend on where MediaNest runs. QuickTime CreateDate is UTC by the specification
(exiftool reports it unconverted without ``-api QuickTimeUTC``), and so is Matroska's DateUTC.
Zero or unparsable dates ("0000:00:00 00:00:00") are skipped.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UPLOAD_TIME = "upload_time"

_DATE_RE = re.compile(
    r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?"
    r"(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET_RE = re.compile(r"^\s*(Z|[+-]\d{2}:?\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class _Source:
    key: str
    offset_keys: Sequence[str] = ()
    subsec_key: str | None = None


_SOURCES: tuple[_Source, ...] = (
    _Source(
        "EXIF:DateTimeOriginal",
        ("EXIF:OffsetTimeOriginal", "EXIF:OffsetTime"),
        "EXIF:SubSecTimeOriginal",
    ),
    _Source(
        "EXIF:CreateDate",
        ("EXIF:OffsetTimeDigitized", "EXIF:OffsetTime"),
        "EXIF:SubSecTimeDigitized",
    ),
    _Source("XMP:DateTimeOriginal"),
    _Source("XMP:CreateDate"),
    # Apple's com.apple.quicktime.creationdate carries the local zone, so it beats CreateDate.
    _Source("QuickTime:CreationDate"),
    _Source("QuickTime:CreateDate"),
    _Source("QuickTime:MediaCreateDate"),
    _Source("Matroska:DateTimeOriginal"),
    _Source("RIFF:DateTimeOriginal"),
    _Source("File:FileModifyDate"),
)


def capture_date(metadata: Mapping[str, Any], upload_time_ms: int) -> tuple[int, str]:
    """Return ``(epoch_ms, source)``; source names the tag used, or ``"upload_time"``."""
    for source in _SOURCES:
        value = metadata.get(source.key)
        if value is None:
            continue
        offset = _first_offset(metadata, source.offset_keys)
        subsec = metadata.get(source.subsec_key) if source.subsec_key else None
        epoch_ms = parse_exif_datetime(str(value), offset, None if subsec is None else str(subsec))
        if epoch_ms is not None:
            return epoch_ms, source.key
    return upload_time_ms, UPLOAD_TIME


def parse_exif_datetime(
    value: str, offset: str | None = None, subsec: str | None = None
) -> int | None:
    """Parse ``YYYY:MM:DD HH:MM[:SS][.fff][±HH:MM|Z]`` to UTC epoch ms; None if zero/invalid.

    A zone inside the value wins over ``offset``; fractional seconds inside the value win over
    ``subsec``. Without any zone the time is taken as UTC.
    """
    match = _DATE_RE.match(value)
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.group(1, 2, 3, 4, 5))
    second = int(match.group(6) or 0)
    if not _valid(year, month, day, hour, minute, second):
        return None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = match.group(8) or offset
    millis = _fraction_ms(match.group(7) or subsec)
    return (seconds - _offset_seconds(zone)) * 1000 + millis


def _first_offset(metadata: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, str) and _OFFSET_RE.match(value):
            return value
    return None


def _valid(year: int, month: int, day: int, hour: int, minute: int, second: int) -> bool:
    if not (1 <= year <= 9999 and 1 <= month <= 12 and hour <= 23 and minute <= 59):
        return False
    # second 60 is a leap second some cameras write; timegm handles it as the next minute.
    return 1 <= day <= calendar.monthrange(year, month)[1] and second <= 60


def _fraction_ms(digits: str | None) -> int:
    """'5' -> 500, '050' -> 50, '123456' -> 123 (truncated, not rounded, to stay in-second)."""
    digits = (digits or "").strip()
    if not digits.isdigit():
        return 0
    return int((digits + "00")[:3])


def _offset_seconds(zone: str | None) -> int:
    if zone is None or not _OFFSET_RE.match(zone) or zone.strip() == "Z":
        return 0
    zone = zone.strip().replace(":", "")
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[3:5])
    if hours > 14 or minutes > 59:
        return 0
    return sign * (hours * 3600 + minutes * 60)
