"""Originals and renditions in an S3-compatible bucket (MinIO, Garage, Ceph, AWS) with boto3.

``MEDIA_STORE_STORAGE_URL=s3://bucket/prefix``; endpoint, credentials and region come from the
usual AWS variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, profiles). Keys mirror the local layout under the prefix.

An object appears in S3 only when its (multipart) upload completes, so a reader never sees half a
file and a failed upload leaves nothing behind (boto3 aborts the multipart upload). Any failure to
reach the bucket is a 503 with ``Retry-After``: the request may succeed once it is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from medianest.common.errors import ServiceUnavailable
from medianest.media_store.storage import (
    EXTENSION_MIME,
    RENDITION_EXTENSIONS,
    FileStorage,
    Located,
    Readable,
    RemoteFile,
    Rendition,
    StoredFile,
)

log = logging.getLogger("medianest.media_store.s3")
MIB = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def unavailable(exc: Exception) -> ServiceUnavailable:
    log.warning("object storage unavailable", extra={"error": repr(exc)})
    return ServiceUnavailable(
        "object storage is unavailable; try again", headers={"Retry-After": "5"}
    )


class S3Storage(FileStorage):
    def __init__(
        self,
        url: str,
        spool: Path,
        part_size_mib: int = 16,
        presigned_downloads: bool = False,
        presign_ttl_s: int = 300,
    ) -> None:
        self.presigned_downloads, self.presign_ttl_s = presigned_downloads, presign_ttl_s
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.root = spool
        self.tmp_dir = spool / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60
        )
        self.client: Any = boto3.session.Session().client("s3", config=config)
        part = part_size_mib * MIB  # memory per part is bounded: the file streams from the spool
        self.transfer = TransferConfig(
            multipart_threshold=part, multipart_chunksize=part, max_concurrency=4
        )

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _rendition_key(self, sha256: str, kind: Rendition, ext: str) -> str:
        return self.key(f"renditions/{sha256}.{kind.value}.{ext}")

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return head

    def _list(self, relative_prefix: str) -> Iterator[dict[str, Any]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.key(relative_prefix)
            )
            for page in pages:
                yield from page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc

    def _delete(self, keys: list[str]) -> None:
        try:
            for key in keys:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc

    def has_original(self, sha256: str) -> bool:
        return self._head(self.key(self.relative_path(sha256))) is not None

    def locate_original(self, sha256: str) -> Located | None:
        key = self.key(self.relative_path(sha256))
        head = self._head(key)
        return None if head is None else RemoteFile(key, int(head["ContentLength"]), self)

    def place_original(self, temp: Path, sha256: str) -> None:
        if not self.has_original(sha256):
            try:
                self.client.upload_file(
                    str(temp), self.bucket, self.key(self.relative_path(sha256)),
                    ExtraArgs={"ContentType": "application/octet-stream"}, Config=self.transfer,
                )  # fmt: skip
            except (ClientError, BotoCoreError) as exc:
                raise unavailable(exc) from exc
            except Exception as exc:  # s3transfer wraps failures (e.g. S3UploadFailedError)
                raise unavailable(exc) from exc
        temp.unlink(missing_ok=True)

    def write_rendition(self, sha256: str, kind: Rendition, data: bytes, mime: str) -> None:
        key = self._rendition_key(sha256, kind, RENDITION_EXTENSIONS[mime])
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=mime)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc

    def locate_rendition(self, sha256: str, kind: Rendition) -> tuple[Located, str] | None:
        for obj in self._list(f"renditions/{sha256}.{kind.value}."):
            ext = str(obj["Key"]).rsplit(".", 1)[-1]
            if ext in EXTENSION_MIME:
                return RemoteFile(str(obj["Key"]), int(obj["Size"]), self), EXTENSION_MIME[ext]
        return None

    def remove_renditions(self, sha256: str) -> int:
        keys = [str(o["Key"]) for o in self._list(f"renditions/{sha256}.")]
        self._delete(keys)
        return len(keys)

    def remove(self, sha256: str) -> bool:
        self.remove_renditions(sha256)
        key = self.key(self.relative_path(sha256))
        existed = self._head(key) is not None
        if existed:
            self._delete([key])
        return existed

    def originals(self) -> Iterator[StoredFile]:
        now = time.time()
        for obj in self._list("files/"):
            sha = str(obj["Key"]).rsplit("/", 1)[-1]
            yield StoredFile(sha, None, now - obj["LastModified"].timestamp())

    def rendition_owners(self) -> set[str]:
        return {
            str(o["Key"]).rsplit("/", 1)[-1].split(".", 1)[0] for o in self._list("renditions/")
        }

    def list_stored(self) -> Iterator[tuple[str, int, int]]:
        for sub in ("files/", "renditions/"):
            for obj in self._list(sub):
                name = str(obj["Key"]).removeprefix(self.key(""))
                yield name, int(obj["Size"]), int(obj["LastModified"].timestamp() * 1e9)

    def open_stored(self, name: str) -> BinaryIO:
        try:
            body: BinaryIO = self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                raise FileNotFoundError(name) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return body

    def put_stored(self, name: str, source: Readable) -> None:
        try:
            self.client.upload_fileobj(source, self.bucket, self.key(name), Config=self.transfer)
        except Exception as exc:
            raise unavailable(exc) from exc

    def delete_stored(self, name: str) -> None:
        self._delete([self.key(name)])

    def open_range(self, key: str, start: int, end: int) -> Any:
        """The body (a stream) of bytes ``start..end`` inclusive of an object."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}")
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        return resp["Body"]

    def presigned_url(self, key: str, ttl_s: int, media_type: str, disposition: str) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket, "Key": key, "ResponseContentType": media_type,
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=ttl_s,
        )  # fmt: skip
        return url

    def close(self) -> None:
        self.client.close()
