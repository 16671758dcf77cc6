"""Generate test media on the fly: real encoders, no binary fixtures in the repository.

Every helper returns bytes (images, broken files) or writes to a path the caller gives (videos,
via ffmpeg's lavfi ``testsrc``). Images are "natural-ish" (smooth gradients, blobs, shapes, mild
noise) so perceptual hashes behave as on photos; different seeds give unrelated pictures.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import piexif
from PIL import Image, ImageDraw, ImageFilter

VideoContainer = Literal["mp4", "mov", "mkv", "webm", "avi"]

TEXT_BYTES = b"just some notes, definitely not a photo\n"
SVG_BYTES = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="red"/></svg>\n'
)
SVG_NO_PROLOG_BYTES = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'
HTML_BYTES = b"<!DOCTYPE html>\n<html><body><img src=x onerror=alert(1)></body></html>\n"
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
ZIP_BYTES = b"PK\x03\x04" + bytes(26) + b"PK\x05\x06" + bytes(18)


@dataclass(frozen=True)
class ExifSpec:
    """EXIF fields for ``exif_bytes``; None leaves a field out."""

    date_time_original: str | None = "2023:06:01 12:00:00"
    offset_time_original: str | None = "+02:00"
    subsec_time_original: str | None = None
    create_date: str | None = None
    orientation: int | None = 1
    gps: tuple[float, float] | None = None  # signed decimal (lat, lon)
    make: str | None = "Canon"
    model: str | None = "EOS R5"


# ---------------------------------------------------------------- pictures


def natural_image(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A deterministic photo-like RGB picture: gradient sky, soft blobs, shapes, grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    xx, yy = xx / width, yy / height
    base = rng.uniform(40, 200, 3)[None, None, :] + rng.uniform(-80, 80, 3) * yy[..., None]
    for _ in range(6):
        cx, cy, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.35)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
        base = base + blob[..., None] * rng.uniform(-120, 120, 3)
    base += rng.normal(0, 4, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    _draw_shapes(image, rng)
    return image.filter(ImageFilter.GaussianBlur(1.2))


def _draw_shapes(image: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    w, h = image.size
    for _ in range(5):
        x0, y0 = int(rng.uniform(0, w * 0.8)), int(rng.uniform(0, h * 0.8))
        x1, y1 = x0 + int(rng.uniform(w * 0.1, w * 0.4)), y0 + int(rng.uniform(h * 0.1, h * 0.4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.uniform() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)


def marked_image(width: int = 400, height: int = 300) -> Image.Image:
    """Grey picture with a pure red top-left quadrant: shows where "up" went after rotation."""
    image = Image.new("RGB", (width, height), (128, 128, 128))
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Encode a Pillow image (``fmt`` as Pillow names it: JPEG, PNG, WEBP, GIF, TIFF, HEIF)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# ---------------------------------------------------------------- EXIF / JPEG


def exif_bytes(spec: ExifSpec) -> bytes:
    """A TIFF-structured EXIF block (piexif) usable by JPEG, WebP, PNG, TIFF and HEIF savers."""
    zeroth: dict[int, object] = {}
    exif: dict[int, object] = {}
    gps: dict[int, object] = {}
    _put(zeroth, piexif.ImageIFD.Make, spec.make)
    _put(zeroth, piexif.ImageIFD.Model, spec.model)
    if spec.orientation is not None:
        zeroth[piexif.ImageIFD.Orientation] = spec.orientation
    _put(exif, piexif.ExifIFD.DateTimeOriginal, spec.date_time_original)
    _put(exif, piexif.ExifIFD.OffsetTimeOriginal, spec.offset_time_original)
    _put(exif, piexif.ExifIFD.SubSecTimeOriginal, spec.subsec_time_original)
    _put(exif, piexif.ExifIFD.DateTimeDigitized, spec.create_date)
    if spec.gps is not None:
        gps = _gps_ifd(*spec.gps)
    return bytes(piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps}))


def _put(ifd: dict[int, object], tag: int, value: str | None) -> None:
    if value is not None:
        ifd[tag] = value.encode("ascii")


def _gps_ifd(lat: float, lon: float) -> dict[int, object]:
    return {
        piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
        piexif.GPSIFD.GPSLatitude: _dms(abs(lat)),
        piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
        piexif.GPSIFD.GPSLongitude: _dms(abs(lon)),
    }


def _dms(value: float) -> tuple[tuple[int, int], ...]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
    return ((degrees, 1), (minutes, 1), (seconds, 10000))


def jpeg_bytes(
    image: Image.Image | None = None,
    *,
    exif: ExifSpec | None = None,
    quality: int = 90,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> bytes:
    """JPEG of ``image`` (default: ``natural_image``), with EXIF when ``exif`` is given."""
    picture = image if image is not None else natural_image(*size, seed=seed)
    options: dict[str, object] = {"quality": quality}
    if exif is not None:
        options["exif"] = exif_bytes(exif)
    return encode(picture, "JPEG", **options)


def strip_exif(jpeg: bytes) -> bytes:
    """The same JPEG without its APP1 EXIF segment (pixels untouched)."""
    out = io.BytesIO()
    piexif.remove(jpeg, out)
    return out.getvalue()


# ---------------------------------------------------------------- other image formats


def png_bytes(size: tuple[int, int] = (640, 480), seed: int = 0, alpha: bool = False) -> bytes:
    image = natural_image(*size, seed=seed)
    if alpha:
        image.putalpha(200)
    return encode(image, "PNG")


def webp_bytes(size: tuple[int, int] = (640, 480), seed: int = 0) -> bytes:
    return encode(natural_image(*size, seed=seed), "WEBP", quality=85)


def gif_bytes(size: tuple[int, int] = (320, 240), seed: int = 0, frames: int = 2) -> bytes:
    """Animated GIF; the first frame is what MediaNest renders."""
    pictures = [natural_image(*size, seed=seed + i).convert("P") for i in range(frames)]
    return encode(pictures[0], "GIF", save_all=True, append_images=pictures[1:], duration=100)


def tiff_bytes(
    size: tuple[int, int] = (640, 480), seed: int = 0, exif: ExifSpec | None = None
) -> bytes:
    """TIFF; LZW-compressed without EXIF, uncompressed with it (libtiff rejects Pillow's EXIF
    IFD pointer when compressing)."""
    options: dict[str, object] = {"compression": "tiff_lzw"}
    if exif is not None:
        options = {"exif": exif_bytes(exif)}
    return encode(natural_image(*size, seed=seed), "TIFF", **options)


def avif_supported() -> bool:
    """Whether this Pillow build can encode AVIF (Pillow >= 11.3 with libavif)."""
    from PIL import features

    return bool(features.check("avif"))


def avif_bytes(size: tuple[int, int] = (640, 480), seed: int = 0) -> bytes:
    return encode(natural_image(*size, seed=seed), "AVIF", quality=60)


def heic_supported() -> bool:
    """Whether pillow-heif has an HEVC encoder in this build (decoding is always present)."""
    import pillow_heif

    return bool(pillow_heif.libheif_info().get("HEIF"))


def heic_bytes(
    image: Image.Image | None = None,
    *,
    exif: ExifSpec | None = None,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> bytes:
    """HEIC via pillow-heif; an EXIF orientation becomes an ``irot`` transform, as on iPhones."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    picture = image if image is not None else natural_image(*size, seed=seed)
    options: dict[str, object] = {"quality": 80}
    if exif is not None:
        options["exif"] = exif_bytes(exif)
    return encode(picture, "HEIF", **options)


# ---------------------------------------------------------------- camera RAW look-alikes


def raw_bytes(
    kind: Literal["cr2", "dng"] = "cr2",
    *,
    preview: bytes | None = None,
    orientation: int = 1,
    date_time_original: str = "2023:06:01 12:00:00",
    make: str = "Canon",
    model: str = "Canon EOS 5D Mark IV",
) -> bytes:
    """A minimal TIFF-structured RAW whose IFD0 holds a JPEG preview (no sensor data).

    CR2 carries Canon's ``CR\\x02`` header marker (sniffable); DNG is plain TIFF plus a
    DNGVersion tag, so only exiftool can tell it apart, as with real NEF/ARW/DNG files.
    """
    jpeg = preview if preview is not None else jpeg_bytes(size=(600, 400), seed=7)
    with Image.open(io.BytesIO(jpeg)) as im:
        width, height = im.size
    exif_entries = [(0x9003, 2, _ascii(date_time_original))]
    ifd0 = [
        (0x0100, 4, struct.pack("<I", width)),
        (0x0101, 4, struct.pack("<I", height)),
        (0x0103, 3, struct.pack("<H", 6 if kind == "cr2" else 7)),
        (0x010F, 2, _ascii(make)),
        (0x0110, 2, _ascii(model)),
        (0x0112, 3, struct.pack("<H", orientation)),
    ]
    if kind == "dng":
        ifd0.append((0xC612, 1, bytes([1, 4, 0, 0])))
    marker = b"CR\x02\x00" + bytes(4) if kind == "cr2" else bytes(8)
    return _assemble_tiff(marker, ifd0, exif_entries, jpeg)


def _ascii(text: str) -> bytes:
    return text.encode("ascii") + b"\x00"


def _assemble_tiff(
    marker: bytes,
    ifd0: list[tuple[int, int, bytes]],
    exif_entries: list[tuple[int, int, bytes]],
    jpeg: bytes,
) -> bytes:
    """Header, IFD0 (+ pointers to the Exif IFD and the JPEG strip), Exif IFD, JPEG."""
    pointers = [(0x0111, 4, bytes(4)), (0x0117, 4, bytes(4)), (0x8769, 4, bytes(4))]
    ifd0_size = len(_ifd([*ifd0, *pointers], 16))
    exif_offset = 16 + ifd0_size
    jpeg_offset = exif_offset + len(_ifd(exif_entries, exif_offset))
    pointers = [
        (0x0111, 4, struct.pack("<I", jpeg_offset)),
        (0x0117, 4, struct.pack("<I", len(jpeg))),
        (0x8769, 4, struct.pack("<I", exif_offset)),
    ]
    header = b"II*\x00" + struct.pack("<I", 16) + marker
    body = _ifd([*ifd0, *pointers], 16) + _ifd(exif_entries, exif_offset)
    return header + body + jpeg


def _ifd(entries: list[tuple[int, int, bytes]], offset: int) -> bytes:
    """One little-endian IFD at ``offset``, values over 4 bytes stored right after it."""
    sizes = {1: 1, 2: 1, 3: 2, 4: 4}
    table, data = struct.pack("<H", len(entries)), b""
    data_offset = offset + 2 + 12 * len(entries) + 4
    for tag, kind, value in sorted(entries):
        count = len(value) // sizes[kind]
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_offset + len(data))
            data += value + (b"\x00" if len(value) % 2 else b"")
    return table + struct.pack("<I", 0) + data


# ---------------------------------------------------------------- video


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


_VIDEO_CODECS: dict[str, list[str]] = {
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "mov": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"],
    "avi": ["-c:v", "mpeg4", "-q:v", "5"],
}


def video_file(
    path: str | Path,
    container: VideoContainer = "mp4",
    *,
    size: tuple[int, int] = (320, 240),
    duration: float = 2.0,
    rate: int = 10,
    rotate: int = 0,
    creation_time: str | None = None,
    location: str | None = None,
) -> Path:
    """Write a ``testsrc`` clip; ``rotate`` (mp4/mov) sets the display rotation tag.

    ``creation_time`` is ISO 8601 UTC (``2023-06-01T10:00:00Z``); ``location`` is ISO 6709
    (``+48.8584+002.2945/``, mp4/mov only).
    """
    target = Path(path)
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"]
    cmd += ["-i", f"testsrc=size={size[0]}x{size[1]}:rate={rate}", "-t", f"{duration}"]
    cmd += _VIDEO_CODECS[container]
    if creation_time is not None:
        cmd += ["-metadata", f"creation_time={creation_time}"]
    if location is not None:
        cmd += ["-metadata", f"location={location}"]
    if rotate and container in ("mp4", "mov"):
        return _with_rotation(cmd, target, container, rotate)
    subprocess.run([*cmd, "-f", _FORMATS[container], str(target)], check=True, timeout=60)
    return target


_FORMATS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm", "avi": "avi"}


def _with_rotation(cmd: list[str], target: Path, container: str, rotate: int) -> Path:
    """ffmpeg 5 drops ``rotate`` while encoding, so encode first and set it on a remux."""
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / f"plain.{container}"
        subprocess.run([*cmd, "-f", _FORMATS[container], str(plain)], check=True, timeout=60)
        remux = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(plain), "-c", "copy"]
        remux += ["-metadata:s:v:0", f"rotate={rotate}", "-f", _FORMATS[container], str(target)]
        subprocess.run(remux, check=True, timeout=60)
    return target


def audio_only_mp4(path: str | Path) -> Path:
    """An MP4 holding only an AAC sine tone: ISO-BMFF like a video, but nothing to show."""
    target = Path(path)
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=d=1"]
    subprocess.run([*cmd, "-c:a", "aac", "-f", "mp4", str(target)], check=True, timeout=60)
    return target


# ---------------------------------------------------------------- broken and foreign files


def truncated_jpeg(data: bytes | None = None, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of a JPEG: valid header, missing scan data and EOI."""
    full = data if data is not None else jpeg_bytes(size=(800, 600), seed=3)
    return full[: int(len(full) * keep)]


def junk_with_jpeg_header(length: int = 4096, seed: int = 0) -> bytes:
    """A JPEG SOI/APP0 prefix followed by random bytes."""
    rng = np.random.default_rng(seed)
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.integers(0, 256, length, np.uint8).tobytes()


def write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` and return it (names are deliberately free: sniffing ignores
    them)."""
    target = Path(path)
    target.write_bytes(data)
    return target
