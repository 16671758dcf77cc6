"""ffprobe / ffmpeg subprocess wrappers for video metadata and the poster frame.

Every call has a timeout. A file the tools reject (non-zero exit, garbage output, timeout) raises
``MediaDecodeError`` (422): a video ffprobe cannot read is not stored. A tool that cannot be started
or is killed by a signal (OOM killer, an operator, a crash) is not the file's fault: the call is run
once more, and if that dies too it raises ``MediaToolError`` (503, retry later).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Any

from .errors import MediaDecodeError, MediaToolError

log = logging.getLogger("medianest.media_store.probe")

DEFAULT_TIMEOUT = 30.0
_STDERR_LIMIT = 300


@dataclass(frozen=True, slots=True)
class VideoSummary:
    """The fields MediaNest needs from ffprobe's JSON for the first video stream."""

    codec: str | None
    width: int
    height: int
    rotation: int  # degrees as ffprobe reports them, normalised to 0/90/180/270
    duration: float | None

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as the video is shown: swapped for a quarter-turn rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


def ffprobe(
    path: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT, executable: str = "ffprobe"
) -> dict[str, Any]:
    """Return ffprobe's ``{"format": ..., "streams": [...]}`` JSON for a file."""
    cmd = [executable, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    out = _run([*cmd, "-i", os.fspath(path)], timeout, "ffprobe")
    try:
        probe = json.loads(out)
    except ValueError as exc:
        raise MediaDecodeError(f"ffprobe returned invalid JSON: {exc}") from exc
    if not isinstance(probe, dict) or "format" not in probe:
        raise MediaDecodeError("ffprobe found no container format")
    return probe


def summarize(probe: dict[str, Any]) -> VideoSummary | None:
    """Summarise the first real video stream (cover art excluded); None if there is none."""
    stream = _first_video_stream(probe)
    if stream is None:
        return None
    return VideoSummary(
        codec=stream.get("codec_name"),
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        rotation=_rotation(stream),
        duration=_duration(probe, stream),
    )


def poster_time(duration: float | None) -> float:
    """~1 s in, but at most 10 % of the clip so short clips still get a frame from their start."""
    if not duration or duration <= 0:
        return 0.0
    return min(1.0, duration * 0.1)


def extract_frame(
    path: str | os.PathLike[str],
    at_seconds: float,
    timeout: float = DEFAULT_TIMEOUT,
    executable: str = "ffmpeg",
) -> bytes:
    """Decode one frame as JPEG bytes, display-rotated (ffmpeg autorotates by default).

    Falls back to the first frame when seeking past the end yields nothing.
    """
    frame = _frame_at(path, max(at_seconds, 0.0), timeout, executable)
    if not frame and at_seconds > 0:
        frame = _frame_at(path, 0.0, timeout, executable)
    if not frame:
        raise MediaDecodeError("ffmpeg decoded no video frame")
    return frame


def _frame_at(path: str | os.PathLike[str], at: float, timeout: float, executable: str) -> bytes:
    cmd = [executable, "-v", "error", "-nostdin", "-ss", f"{at:.3f}", "-i", os.fspath(path)]
    cmd += ["-frames:v", "1", "-an", "-sn", "-dn", "-f", "image2pipe", "-c:v", "mjpeg"]
    return _run([*cmd, "-q:v", "2", "-"], timeout, "ffmpeg")


def _run(cmd: list[str], timeout: float, name: str, attempts: int = 2) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise MediaDecodeError(f"{name} timed out after {timeout:.0f} s") from exc
        except OSError as exc:
            raise MediaToolError(f"cannot run {name}: {exc}") from exc
        if done.returncode >= 0:
            break
        signame = _signal_name(-done.returncode)
        log.warning("%s killed by %s (attempt %d of %d)", name, signame, attempt, attempts)
        if attempt == attempts:
            raise MediaToolError(f"{name} was killed by {signame}; retry the request")
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[-_STDERR_LIMIT:]
        raise MediaDecodeError(f"{name} failed (exit {done.returncode}): {detail or 'no output'}")
    return done.stdout


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _first_video_stream(probe: dict[str, Any]) -> dict[str, Any] | None:
    for stream in probe.get("streams", []):
        attached = stream.get("disposition", {}).get("attached_pic", 0)
        if stream.get("codec_type") == "video" and not attached:
            result: dict[str, Any] = stream
            return result
    return None


def _rotation(stream: dict[str, Any]) -> int:
    """Quarter-turn rotation from the display-matrix side data, else the legacy ``rotate`` tag."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return _quarter_turn(side["rotation"])
    return _quarter_turn(stream.get("tags", {}).get("rotate", 0))


def _quarter_turn(value: Any) -> int:
    try:
        degrees = round(float(value))
    except (TypeError, ValueError):
        return 0
    return (round(degrees / 90) * 90) % 360


def _duration(probe: dict[str, Any], stream: dict[str, Any]) -> float | None:
    for raw in (probe.get("format", {}).get("duration"), stream.get("duration")):
        if raw is None:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None
