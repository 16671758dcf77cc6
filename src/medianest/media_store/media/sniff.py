"""Content type from the bytes, never from the filename or the client's Content-Type.

A client can name anything ``x.jpg``; only the leading bytes (magic numbers, ISO-BMFF ``ftyp``
brands, the EBML DocType, RIFF form types) say what a file is. TIFF-based camera RAW formats
(NEF, ARW, DNG, ...) look like plain TIFF here; ``refine_with_exiftool`` tells them apart once
exiftool has read the file.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import UnsupportedMediaError

HEAD_SIZE = 4096


class ContentType(NamedTuple):
    """What the bytes are: unpacks as ``(mime_type, media_type, extension)``."""

    mime_type: str
    media_type: str  # "image" | "video"
    extension: str  # canonical, lower case, no dot

    @property
    def is_raw(self) -> bool:
        """Camera RAW: decoded through its embedded preview, not by Pillow."""
        return self.extension in RAW_EXTENSIONS


JPEG = ContentType("image/jpeg", "image", "jpg")
PNG = ContentType("image/png", "image", "png")
GIF = ContentType("image/gif", "image", "gif")
WEBP = ContentType("image/webp", "image", "webp")
TIFF = ContentType("image/tiff", "image", "tiff")
HEIC = ContentType("image/heic", "image", "heic")
HEIF = ContentType("image/heif", "image", "heif")
AVIF = ContentType("image/avif", "image", "avif")
CR2 = ContentType("image/x-canon-cr2", "image", "cr2")
CR3 = ContentType("image/x-canon-cr3", "image", "cr3")
RAF = ContentType("image/x-fujifilm-raf", "image", "raf")
ORF = ContentType("image/x-olympus-orf", "image", "orf")
RW2 = ContentType("image/x-panasonic-rw2", "image", "rw2")
NEF = ContentType("image/x-nikon-nef", "image", "nef")
NRW = ContentType("image/x-nikon-nrw", "image", "nrw")
ARW = ContentType("image/x-sony-arw", "image", "arw")
DNG = ContentType("image/x-adobe-dng", "image", "dng")
PEF = ContentType("image/x-pentax-pef", "image", "pef")
SRW = ContentType("image/x-samsung-srw", "image", "srw")
MP4 = ContentType("video/mp4", "video", "mp4")
MOV = ContentType("video/quicktime", "video", "mov")
M4V = ContentType("video/x-m4v", "video", "m4v")
GPP = ContentType("video/3gpp", "video", "3gp")
MKV = ContentType("video/x-matroska", "video", "mkv")
WEBM = ContentType("video/webm", "video", "webm")
AVI = ContentType("video/x-msvideo", "video", "avi")

RAW_EXTENSIONS = frozenset(
    {"cr2", "cr3", "raf", "orf", "rw2", "nef", "nrw", "arw", "dng", "pef", "srw"}
)

# exiftool's File:FileType for TIFF-container formats that the magic bytes cannot separate.
_TIFF_FAMILY = {t.extension.upper(): t for t in (NEF, NRW, ARW, DNG, PEF, SRW, CR2)}

_HEIC_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"})
_AVIF_BRANDS = frozenset({"avif", "avis"})
_HEIF_BRANDS = frozenset({"mif1", "msf1"})
_MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash", "mmp4"}
    | {"f4v ", "msnv", "ndas", "xavc", "mp71"}
)
_M4V_BRANDS = frozenset({"M4V ", "M4VH", "M4VP"})
_AUDIO_BRANDS = frozenset({"M4A ", "M4B ", "M4P ", "F4A ", "F4B "})
_3GP_BRANDS = frozenset({"3gp4", "3gp5", "3gp6", "3gp7", "3gg6", "3g2a", "3g2b", "3g2c"})


def sniff(path: str | os.PathLike[str]) -> ContentType:
    """Read the head of a file and classify it; raise ``UnsupportedMediaError`` otherwise."""
    with open(path, "rb") as fh:
        return sniff_bytes(fh.read(HEAD_SIZE))


def sniff_bytes(head: bytes) -> ContentType:
    """Classify the first bytes (~4 KiB) of a file."""
    if not head:
        raise UnsupportedMediaError("empty file")
    for detect in (_simple_magic, _tiff_family, _riff, _iso_bmff, _ebml):
        found = detect(head)
        if found is not None:
            return found
    raise UnsupportedMediaError(f"unsupported content type ({_describe(head)})")


def refine_with_exiftool(found: ContentType, metadata: Mapping[str, Any]) -> ContentType:
    """Upgrade a plain TIFF to the RAW format exiftool recognised (NEF, ARW, DNG, ...)."""
    if found != TIFF:
        return found
    return _TIFF_FAMILY.get(str(metadata.get("File:FileType", "")).upper(), found)


def _simple_magic(head: bytes) -> ContentType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return RAF
    return None


def _tiff_family(head: bytes) -> ContentType | None:
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return ORF
    if head[:4] == b"IIU\x00":
        return RW2
    if head[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return None
    if head[8:11] == b"CR\x02":
        return CR2
    return TIFF


def _riff(head: bytes) -> ContentType | None:
    if head[:4] != b"RIFF":
        return None
    return {b"WEBP": WEBP, b"AVI ": AVI}.get(head[8:12])


def _iso_bmff(head: bytes) -> ContentType | None:
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    box_size = min(struct.unpack(">I", head[:4])[0], len(head))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, box_size - 3, 4)]
    names = [b.decode("latin-1") for b in brands]
    return _classify_brands(names[0], set(names))


def _classify_brands(major: str, brands: set[str]) -> ContentType | None:
    """Image brands win over the generic ISO ones that HEIF files also list."""
    if "crx " in brands:
        return CR3
    if brands & _HEIC_BRANDS:
        return HEIC
    if brands & _AVIF_BRANDS:
        return AVIF
    if brands & _HEIF_BRANDS:
        return HEIF
    if major in _AUDIO_BRANDS:
        return None
    if major == "qt  ":
        return MOV
    if major in _M4V_BRANDS:
        return M4V
    if major in _3GP_BRANDS:
        return GPP
    if brands & _MP4_BRANDS or brands & _M4V_BRANDS:
        return MP4
    if "qt  " in brands:
        return MOV
    return None  # M4A/M4B audio, JPEG 2000 and other ISO files MediaNest does not store


def _ebml(head: bytes) -> ContentType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    doctype = _ebml_doctype(head)
    return {b"webm": WEBM, b"matroska": MKV}.get(doctype or b"")


def _ebml_doctype(head: bytes) -> bytes | None:
    """Value of the DocType element (ID 0x4282) inside the EBML header."""
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 2 >= len(head):
        return None
    first = head[at + 2]
    width = 9 - first.bit_length()  # EBML vint: leading zero bits give the length
    if not 1 <= width <= 8:
        return None
    size = first & (0xFF >> width)
    for byte in head[at + 3 : at + 2 + width]:
        size = (size << 8) | byte
    start = at + 2 + width
    return head[start : start + size].rstrip(b"\x00")


def _describe(head: bytes) -> str:
    """A short hint for the error message (never echoes the bytes themselves)."""
    lowered = head[:512].lstrip().lower()
    for prefix, name in (
        (b"%pdf", "PDF"),
        (b"pk\x03\x04", "ZIP"),
        (b"<svg", "SVG"),
        (b"<?xml", "XML/SVG"),
        (b"<!doctype html", "HTML"),
        (b"<html", "HTML"),
    ):
        if lowered.startswith(prefix):
            return name
    return "text" if _looks_like_text(head) else "unrecognised bytes"


def _looks_like_text(head: bytes) -> bool:
    try:
        head[:1024].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
