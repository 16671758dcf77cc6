"""Logging: JSON lines for machines, readable lines for a person at a terminal, request ids, and
redaction that keeps secrets out of both.

The format follows where stderr goes: a terminal gets human-readable lines, anything else (a file,
a pipe, journald, a container log) gets one JSON object per line; ``MEDIANEST_LOG_JSON=true`` or
``false`` forces one or the other.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# JWTs, API keys, bearer headers, PEM blocks and password-ish key=value pairs never reach a log
# line.
_SECRET_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
    re.compile(r"mnk_[A-Za-z0-9_-]{8,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(
        r"(?i)(password|refresh_token|access_token|secret|api[_-]?key)"
        r"([\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"
    ),
]
# color_message: uvicorn's ANSI copy of the message
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            data["request_id"] = rid
        data.update({k: v for k, v in vars(record).items() if k not in _STD_ATTRS})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, default=str))


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_LEVEL_COLOURS = {"WARNING": "33", "ERROR": "31", "CRITICAL": "1;31", "DEBUG": "2"}


class HumanFormatter(logging.Formatter):
    """``12:04:05 INFO  medianest.access  request  method=GET path=/ status=200 ms=1.2``.

    The structured extras a JSON line carries follow as ``key=value``; the request id is shortened
    to 8 characters; levels are coloured when ``colour`` is set (a terminal).
    """

    def __init__(self, colour: bool = False) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname:<5}"
        if self.colour and record.levelname in _LEVEL_COLOURS:
            level = f"\x1b[{_LEVEL_COLOURS[record.levelname]}m{level}\x1b[0m"
        parts = [self.formatTime(record, self.datefmt), level, record.name, record.getMessage()]
        extras = {k: v for k, v in vars(record).items() if k not in _STD_ATTRS}
        rid = request_id_var.get()
        if rid:
            extras.setdefault("request_id", rid[:8])
        parts += [f"{k}={v}" for k, v in extras.items()]
        line = "  ".join(parts[:4]) + ("  " + " ".join(parts[4:]) if parts[4:] else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def wants_json(json_output: bool | None, stream: Any = None) -> bool:
    """Explicit choice if given, else JSON unless ``stream`` (stderr) is a terminal."""
    if json_output is not None:
        return json_output
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def configure_logging(level: str = "INFO", json_output: bool | None = None) -> None:
    """Configure the root logger once per process (idempotent); ``json_output=None``: JSON
    unless stderr is a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    if wants_json(json_output, sys.stderr):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(HumanFormatter(colour=sys.stderr.isatty()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access log (RequestIdMiddleware) replaces uvicorn's; per-call client and migration
    # chatter stays out of the INFO stream.
    for name in ("uvicorn.access", "httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


class RequestIdMiddleware:
    """Give every request an id (``X-Request-ID`` in and out) and log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("medianest.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode()[:64]
        rid = incoming if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)
