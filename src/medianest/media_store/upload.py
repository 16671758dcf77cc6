"""Streaming multipart parsing: the file part goes to a temp file, hashed while it streams.

The request body is fed to python-multipart's incremental parser in ~1 MiB batches run in a worker
thread (hashing and disk writes never block the event loop), so memory stays flat for any size.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from medianest.common.errors import (
    BadRequest,
    InsufficientStorage,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from medianest.media_store.storage import FileStorage
from medianest.media_store.uploaded import UploadedFile

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "image"
_BATCH = 1 << 20
_MULTIPART_SLACK = 1 << 20  # room for the form fields and part headers around the file
_MAX_FILENAME = 200
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


@dataclass
class UploadForm:
    fields: dict[str, str]
    file: UploadedFile | None

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


def sanitize_filename(name: str | None) -> str | None:
    """Keep the base name only: no path parts or control characters; unicode kept, length capped."""
    if not name:
        return None
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE.sub("", unicodedata.normalize("NFC", base)).strip()
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf"))
    if base in ("", ".", ".."):
        return None
    if len(base) > _MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext[:16] if dot and stem else ""
        base = base[: _MAX_FILENAME - len(keep) - 1] + "." + keep if keep else base[:_MAX_FILENAME]
    return base


@dataclass
class _Part:
    name: str | None = None
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    out: Any = None


class _FormSink:
    """Callbacks for MultipartParser: collects small fields, streams the file part to disk."""

    def __init__(self, storage: FileStorage, max_file: int, max_field: int) -> None:
        self.storage, self.max_file, self.max_field = storage, max_file, max_field
        self.fields: dict[str, str] = {}
        self.file: UploadedFile | None = None
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha = hashlib.sha256()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._part = _Part()
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name")
        self._part.name = name.decode("utf-8", "replace") if name is not None else None
        raw_filename = params.get(b"filename")
        if self._part.name == FILE_FIELD and raw_filename is not None:
            if self.file is not None:
                raise BadRequest(f"only one '{FILE_FIELD}' file part is allowed")
            self._part.filename = raw_filename.decode("utf-8", "replace")
            self._open_file()

    def _open_file(self) -> None:
        fd, path = self.storage.new_temp()
        self._part.out = os.fdopen(fd, "wb", buffering=_BATCH)
        self.file = UploadedFile(path, 0, "", "", sanitize_filename(self._part.filename))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.out is not None:
            self._write_file(data[start:end])
        elif self._part.name is not None:
            if len(self._part.data) + end - start > self.max_field:
                raise PayloadTooLarge(f"form field '{self._part.name}' is too large")
            self._part.data.extend(data[start:end])

    def _write_file(self, chunk: bytes) -> None:
        assert self.file is not None
        self.file.size += len(chunk)
        if self.file.size > self.max_file:
            raise PayloadTooLarge(f"file exceeds the upload limit of {self.max_file} bytes")
        self._md5.update(chunk)
        self._sha.update(chunk)
        self._part.out.write(chunk)

    def _part_end(self) -> None:
        if self._part.out is not None:
            self._part.out.close()
            self._part.out = None
            assert self.file is not None
            self.file.md5, self.file.sha256 = self._md5.hexdigest(), self._sha.hexdigest()
            if self.file.size == 0 and not self._part.filename:  # an empty <input type=file>
                self.file.discard()
                self.file = None
        elif self._part.name is not None:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")

    def write(self, parser: MultipartParser, data: bytes) -> None:
        try:
            parser.write(data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise InsufficientStorage("not enough disk space for this upload") from exc
            raise

    def abort(self) -> None:
        if self._part.out is not None:
            # closing flushes what is still buffered, which fails again on a full disk: the
            # descriptor is closed anyway and the temp file goes just below
            with contextlib.suppress(OSError):
                self._part.out.close()
            self._part.out = None
        if self.file is not None:
            self.file.discard()


def _boundary(request: Request) -> bytes | None:
    """The multipart boundary, or None for a url-encoded form (fields only, no file)."""
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    if mime == b"application/x-www-form-urlencoded":
        return None
    if mime != b"multipart/form-data":
        raise UnsupportedMediaType("the request body must be multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart boundary missing")
    return boundary


def _check_length(request: Request, max_file: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_file + _MULTIPART_SLACK:
        raise PayloadTooLarge(f"request exceeds the upload limit of {max_file} bytes")


async def read_upload_form(
    request: Request, storage: FileStorage, max_file: int, max_field: int
) -> UploadForm:
    """Parse a multipart body without holding it in memory; the caller discards the form."""
    parser_boundary = _boundary(request)
    if parser_boundary is None:
        return UploadForm(await _urlencoded(request, max_field * 8), None)
    _check_length(request, max_file)
    sink = _FormSink(storage, max_file, max_field)
    parser = MultipartParser(parser_boundary, cast("MultipartCallbacks", sink.callbacks()))
    try:
        await _feed(request, parser, sink)
    except MultipartParseError as exc:
        sink.abort()
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    except ClientDisconnect as exc:  # nobody to answer; keep it out of the error log
        sink.abort()
        raise BadRequest("the client disconnected during the upload") from exc
    except BaseException:
        sink.abort()
        raise
    if sink.file is not None and not sink.file.sha256:
        sink.abort()
        raise BadRequest("the file part was not complete")
    return UploadForm(sink.fields, sink.file)


async def _urlencoded(request: Request, limit: int) -> dict[str, str]:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge("form too large")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _feed(request: Request, parser: MultipartParser, sink: _FormSink) -> None:
    batch: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        batch.append(chunk)
        size += len(chunk)
        if size >= _BATCH:
            await anyio.to_thread.run_sync(sink.write, parser, b"".join(batch))
            batch, size = [], 0
    if batch:
        await anyio.to_thread.run_sync(sink.write, parser, b"".join(batch))
    parser.finalize()
