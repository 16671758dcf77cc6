"""One resident exiftool process shared by every request.

Spawning exiftool costs ~90 ms of Perl start-up per file, while batch mode (``-stay_open``)
answers in a few ms, so one process lives as long as the app. Requests arrive from a thread pool:
a lock serialises them. Each command ends with ``-execute{N}`` and ``-echo4 {readyN}`` so both
stdout and stderr are framed by a marker unique to the call; reads use ``select`` with a deadline,
so a hung or dead process can never hang a request. On timeout or death the process is killed and
the next call starts a fresh one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .errors import ExifToolError

# -G: family-0 group prefixes ("EXIF:DateTimeOriginal"), which keeps same-named tags of different
# groups apart without -a. -n: numeric values (signed GPS, orientation 1-8, raw dates).
COMMON_ARGS: tuple[str, ...] = (
    "-j",
    "-n",
    "-G",
    "-api",
    "largefilesupport=1",
    "-charset",
    "filename=utf8",
)
DEFAULT_TIMEOUT = 20.0
_READ_CHUNK = 1 << 16


class _DiedSilently(ExifToolError):
    """The process ended without a byte of output: safe to restart and resend the command."""


class ExifTool:
    """Thread-safe client of one ``exiftool -stay_open`` process; restarts it when needed."""

    def __init__(self, executable: str = "exiftool", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.executable = executable
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = 0

    def __enter__(self) -> ExifTool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Pid of the resident process, or None before the first call (tests kill it)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the process now rather than on the first call (pays Perl start-up early)."""
        with self._lock:
            self._ensure_running()

    def close(self) -> None:
        """Ask the process to exit, killing it if it does not within two seconds."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            try:
                _stdin(proc).write(b"-stay_open\nFalse\n")
                _stdin(proc).flush()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            _terminate(proc)

    def metadata(
        self, path: str | os.PathLike[str], timeout: float | None = None
    ) -> dict[str, Any]:
        """Return exiftool's full group-prefixed, numeric JSON object for one file."""
        return self._json_one([_file_arg(path)], timeout)

    def binary_tags(
        self, path: str | os.PathLike[str], tags: Sequence[str], timeout: float | None = None
    ) -> dict[str, bytes]:
        """Extract binary tags (e.g. ``PreviewImage``, ``JpgFromRaw``) present in the file."""
        args = ["-b", *(f"-{tag}" for tag in tags), _file_arg(path)]
        found: dict[str, bytes] = {}
        for key, value in self._json_one(args, timeout).items():
            if isinstance(value, str) and value.startswith("base64:"):
                found[key] = base64.b64decode(value[len("base64:") :])
        return found

    def _json_one(self, args: Sequence[str], timeout: float | None) -> dict[str, Any]:
        out, err = self.execute(args, timeout)
        try:
            parsed = json.loads(out) if out.strip() else []
        except ValueError as exc:
            raise ExifToolError(f"exiftool returned invalid JSON: {exc}") from exc
        if not parsed or not isinstance(parsed[0], dict):
            message = err.decode("utf-8", "replace").strip() or "no output"
            raise ExifToolError(f"exiftool failed: {message}")
        result: dict[str, Any] = parsed[0]
        return result

    def execute(self, args: Sequence[str], timeout: float | None = None) -> tuple[bytes, bytes]:
        """Run one command in the resident process; return its (stdout, stderr) without markers.

        A process found dead before it answered anything (killed between calls, or as the
        command was sent) is restarted and the command retried once: reads are idempotent.
        A timeout, or a death after partial output, raises for this call only.
        """
        if any("\n" in arg for arg in args):
            raise ExifToolError("exiftool arguments must not contain newlines")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._run_once(args, deadline)
                except _DiedSilently:
                    self._kill()
                    if attempt == 2:
                        raise
                except ExifToolError:
                    self._kill()
                    raise
        raise AssertionError("unreachable")

    def _run_once(self, args: Sequence[str], deadline: float) -> tuple[bytes, bytes]:
        proc = self._ensure_running()
        self._seq += 1
        marker = f"{{ready{self._seq}}}"
        payload = "\n".join([*args, "-echo4", marker, f"-execute{self._seq}", ""]).encode()
        try:
            _stdin(proc).write(payload)
            _stdin(proc).flush()
        except OSError as exc:
            raise _DiedSilently(f"exiftool was not running: {exc}") from exc
        return _read_framed(proc, (marker + "\n").encode(), deadline)

    def _ensure_running(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._kill()
        cmd = [self.executable, "-stay_open", "True", "-@", "-", "-common_args", *COMMON_ARGS]
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a terminal's Ctrl-C must not kill it under us
            )
        except OSError as exc:
            raise ExifToolError(f"cannot start {self.executable}: {exc}") from exc
        return self._proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc)


def _file_arg(path: str | os.PathLike[str]) -> str:
    """Absolute path, so a file named like an option (``-x.jpg``) is never read as one."""
    return str(Path(path).absolute())


def _stdin(proc: subprocess.Popen[bytes]) -> IO[bytes]:
    assert proc.stdin is not None
    return proc.stdin


def _read_framed(
    proc: subprocess.Popen[bytes], marker: bytes, deadline: float
) -> tuple[bytes, bytes]:
    """Read stdout and stderr until both end with ``marker``; raise on EOF or deadline."""
    assert proc.stdout is not None
    assert proc.stderr is not None
    buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExifToolError("exiftool timed out; the process was restarted")
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    _raise_died(any(buffers.values()))
                buffers[key.fd] += chunk
                if buffers[key.fd].endswith(marker):
                    selector.unregister(key.fd)
    out, err = (bytes(buffers[f.fileno()][: -len(marker)]) for f in (proc.stdout, proc.stderr))
    return out, err


def _raise_died(had_output: bool) -> None:
    if had_output:
        raise ExifToolError("exiftool died during the call; it will be restarted")
    raise _DiedSilently("exiftool died before answering")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
