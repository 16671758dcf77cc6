"""HLS renditions of a video with ffmpeg: H.264/AAC, a ladder never above the source, HDR
tone-mapped to SDR, MPEG-TS segments, and a progressive MP4 for plain ``<video>`` playback.

Each rung is encoded once to an MP4 with a keyframe at every segment boundary, then cut into
segments without re-encoding (``-c copy``), so the HLS rung and the MP4 are the same pictures.
Everything is written into ``out_dir``; the caller makes that directory visible atomically
(rename), so no reader ever sees half a stream.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import MediaDecodeError, MediaToolError
from .probe import _signal_name, ffprobe, summarize

MASTER = "master.m3u8"
PLAYBACK = "playback.mp4"
SEGMENT_S = 2
HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
_STDERR_LIMIT = 400
# HDR (PQ/HLG, BT.2020) to SDR BT.709: linearise, tone-map (Hable), back to BT.709 8-bit
_TONEMAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


@dataclass(frozen=True, slots=True)
class Source:
    width: int  # as displayed (rotation applied)
    height: int
    duration: float
    has_audio: bool
    hdr: bool

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


@dataclass(frozen=True, slots=True)
class Rung:
    name: str  # "480p"
    width: int
    height: int
    bandwidth: int  # bits per second, measured from the encoded file


def inspect(path: Path, ffprobe_path: str = "ffprobe", timeout: float = 60.0) -> Source:
    probe = ffprobe(path, timeout, ffprobe_path)
    summary = summarize(probe)
    if summary is None:
        raise MediaDecodeError("no video stream to stream")
    width, height = summary.display_size
    video = next(s for s in probe["streams"] if s.get("codec_type") == "video")
    audio = any(s.get("codec_type") == "audio" for s in probe.get("streams", []))
    return Source(
        width=width,
        height=height,
        duration=summary.duration or 0.0,
        has_audio=audio,
        hdr=video.get("color_transfer") in HDR_TRANSFERS,
    )


def ladder(short_side: int, rungs: Sequence[int]) -> list[int]:
    """The short sides to encode: the configured rungs below the source, plus the source's own
    (capped at the largest rung), so nothing is ever upscaled."""
    top = min(short_side, max(rungs))
    top -= top % 2
    return sorted({r for r in rungs if r < top} | {top})


def _scaled(source: Source, short: int) -> tuple[int, int]:
    ratio = short / source.short_side
    long_side = max(source.width, source.height)
    other = max(2, round(long_side * ratio / 2) * 2)
    return (other, short) if source.width >= source.height else (short, other)


def build(
    src: Path,
    out_dir: Path,
    rungs: Sequence[int],
    *,
    ffmpeg_path: str = "ffmpeg",
    ffprobe_path: str = "ffprobe",
    timeout: float = 3600.0,
    stop: threading.Event | None = None,
) -> list[Rung]:
    """Write the master playlist, one variant playlist and its segments per rung, and
    ``playback.mp4`` (the top rung) into ``out_dir`` (which must exist and be empty).
    Setting ``stop`` kills the running ffmpeg (``Cancelled``)."""
    stop = stop or threading.Event()
    source = inspect(src, ffprobe_path)
    made = []
    for short in ladder(source.short_side, rungs):
        width, height = _scaled(source, short)
        name = f"{short}p"
        mp4 = out_dir / f"{name}.mp4"
        _run(_encode_cmd(ffmpeg_path, src, mp4, source, width, height), timeout, stop)
        _run(_segment_cmd(ffmpeg_path, mp4, out_dir, name), timeout, stop)
        bandwidth = int(mp4.stat().st_size * 8 / max(source.duration, 0.1) * 1.2)
        made.append(Rung(name, width, height, max(bandwidth, 1)))
    top = out_dir / f"{made[-1].name}.mp4"
    os.replace(top, out_dir / PLAYBACK)
    for rung in made[:-1]:
        (out_dir / f"{rung.name}.mp4").unlink()
    (out_dir / MASTER).write_text(master_playlist(made, source.has_audio))
    return made


def _encode_cmd(
    ffmpeg: str, src: Path, dst: Path, source: Source, width: int, height: int
) -> list[str]:
    scale = f"scale={width}:{height}:flags=bicubic,setsar=1"
    vf = f"{_TONEMAP},{scale}" if source.hdr else f"{scale},format=yuv420p"
    cmd = [ffmpeg, "-v", "error", "-nostdin", "-y", "-i", str(src), "-map", "0:v:0"]
    if source.has_audio:
        cmd += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
    cmd += ["-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
    cmd += ["-profile:v", "high", "-level:v", "4.1", "-pix_fmt", "yuv420p"]
    cmd += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
    cmd += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_S})", "-sc_threshold", "0"]
    cmd += ["-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(dst)]
    return cmd


def _segment_cmd(ffmpeg: str, mp4: Path, out_dir: Path, name: str) -> list[str]:
    cmd = [ffmpeg, "-v", "error", "-nostdin", "-y", "-i", str(mp4), "-c", "copy"]
    cmd += ["-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_playlist_type", "vod"]
    cmd += ["-hls_segment_type", "mpegts", "-hls_flags", "independent_segments"]
    cmd += ["-hls_segment_filename", str(out_dir / f"{name}_%05d.ts")]
    return [*cmd, str(out_dir / f"{name}.m3u8")]


def master_playlist(rungs: Sequence[Rung], has_audio: bool) -> str:
    codecs = "avc1.640029,mp4a.40.2" if has_audio else "avc1.640029"
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in rungs:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rung.bandwidth},"
            f'RESOLUTION={rung.width}x{rung.height},CODECS="{codecs}"'
        )
        lines.append(f"{rung.name}.m3u8")
    return "\n".join(lines) + "\n"


def _wait(proc: subprocess.Popen[bytes], timeout: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if stop.wait(0.2) or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            if stop.is_set():
                raise Cancelled("stopped")
            raise MediaDecodeError(f"ffmpeg timed out after {math.ceil(timeout)} s")


class Cancelled(MediaToolError):
    """The build was stopped (the service is shutting down); not the file's fault."""


def _run(cmd: list[str], timeout: float, stop: threading.Event) -> None:
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty ffmpeg never blocks
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors)
        except OSError as exc:
            raise MediaToolError(f"cannot run ffmpeg: {exc}") from exc
        _wait(proc, timeout, stop)
        errors.seek(0)
        stderr = errors.read()
    if proc.returncode < 0:
        raise MediaToolError(f"ffmpeg was killed by {_signal_name(-proc.returncode)}")
    if proc.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip()[-_STDERR_LIMIT:]
        raise MediaDecodeError(f"ffmpeg failed (exit {proc.returncode}): {detail or 'no output'}")
