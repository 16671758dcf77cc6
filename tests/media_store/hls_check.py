"""A strict HLS playlist parser (RFC 8216, the subset MediaNest writes) and segment checks with
the real ffprobe, for the streaming tests."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass
class Variant:
    uri: str
    bandwidth: int
    width: int
    height: int
    codecs: str


@dataclass
class MediaPlaylist:
    target_duration: int
    segments: list[tuple[float, str]] = field(default_factory=list)
    ended: bool = False

    @property
    def duration(self) -> float:
        return sum(d for d, _ in self.segments)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("a playlist starts with #EXTM3U")
    return lines[1:]


def _attributes(raw: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(raw)}


def parse_master(text: str) -> list[Variant]:
    lines, variants = _lines(text), []
    for n, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = _attributes(line.split(":", 1)[1])
            uri = lines[n + 1]
            if uri.startswith("#") or "/" in uri:
                raise ValueError(f"bad variant URI after {line!r}: {uri!r}")
            width, height = (int(v) for v in attrs["RESOLUTION"].split("x"))
            variants.append(Variant(uri, int(attrs["BANDWIDTH"]), width, height, attrs["CODECS"]))
        elif line.startswith("#EXTINF"):
            raise ValueError("a master playlist has no segments")
    if not variants:
        raise ValueError("no variants")
    return variants


def parse_media(text: str) -> MediaPlaylist:
    lines = _lines(text)
    targets = [ln for ln in lines if ln.startswith("#EXT-X-TARGETDURATION:")]
    if len(targets) != 1:
        raise ValueError("exactly one #EXT-X-TARGETDURATION")
    playlist = MediaPlaylist(int(targets[0].split(":", 1)[1]))
    for n, line in enumerate(lines):
        if line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
            uri = lines[n + 1]
            if uri.startswith("#"):
                raise ValueError(f"no URI after {line!r}")
            if round(duration) > playlist.target_duration:
                raise ValueError(f"segment longer than the target duration: {duration}")
            playlist.segments.append((duration, uri))
        elif line == "#EXT-X-ENDLIST":
            playlist.ended = True
    if not playlist.segments:
        raise ValueError("no segments")
    return playlist


def ffprobe(path: Path) -> dict[str, Any]:
    """Streams and format of a file; decoding every frame (``-count_frames``) proves it plays."""
    cmd = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format"]
    out = subprocess.run(
        [*cmd, "-of", "json", str(path)], capture_output=True, check=True, timeout=120
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def decode_errors(path: Path) -> str:
    """What ffmpeg complains about when decoding every frame (empty: it decodes cleanly)."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"]
    done = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    return done.stderr.decode(errors="replace") + ("" if done.returncode == 0 else " (failed)")


def clip(
    path: Path,
    *,
    codec: str = "h264",
    size: tuple[int, int] = (320, 240),
    duration: float = 2.0,
    audio: bool = True,
    hdr: bool = False,
) -> Path:
    """A tiny test clip: H.264 or HEVC (optionally 10-bit PQ HDR), with an AAC tone."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"]
    cmd += ["-i", f"testsrc2=size={size[0]}x{size[1]}:rate=24"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-c:a", "aac"]
    cmd += ["-t", str(duration)]
    if codec == "hevc":
        params = "log-level=error"
        pix = "yuv420p"
        if hdr:
            params += ":colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"
            pix = "yuv420p10le"
            cmd += ["-color_primaries", "bt2020", "-color_trc", "smpte2084"]
            cmd += ["-colorspace", "bt2020nc"]
        cmd += ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", params]
        cmd += ["-pix_fmt", pix, "-tag:v", "hvc1"]
    else:
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([*cmd, str(path)], check=True, timeout=120, capture_output=True)
    return path
