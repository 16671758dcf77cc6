"""What the sync and async clients share: the call description, parsing, retries and tokens.

A :class:`Call` describes one HTTP request (service, method, path, parameters, body) and how to
parse its response. Endpoint functions build calls; the two clients only differ in how they send
them, so every rule about retries and token refresh lives here once.

Retry rules:

* connection never established (``httpx.ConnectError`` / ``ConnectTimeout``): retried for every
  call, since the server saw nothing;
* other transport errors, 502/503/504, and 429 with a short ``Retry-After``: retried only for
  idempotent calls (GET, HEAD, PUT, DELETE, and the POSTs the server makes idempotent: the media
  upload, which returns the existing entity for content it already has, and the hash lookup).
  Login, refresh, logout and job creation are never retried after the request left.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from medianest.client.config import ServiceUrls, Tokens

T = TypeVar("T")
Service = Literal["auth", "store", "inference"]
FilesOpener = Callable[[], contextlib.AbstractContextManager[dict[str, Any]]]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
REFRESH_SKEW_SECONDS = 30.0
USER_AGENT = "medianest-client/0.1"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the parser of its successful response."""

    method: str
    service: Service
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: FilesOpener | None = None
    idempotent: bool | None = None
    auth: bool = True
    headers: Mapping[str, str] | None = None

    @property
    def retryable(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in IDEMPOTENT_METHODS


@lru_cache(maxsize=256)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def parse_as(tp: Any) -> Callable[[httpx.Response], Any]:
    """A parser validating the JSON body as ``tp`` (a model, ``list[Model]``, ``Page[Model]``)."""

    def parse(response: httpx.Response) -> Any:
        return _adapter(tp).validate_python(response.json())

    return parse


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser validating the JSON body as the wire model ``model`` (typed, unlike parse_as)."""

    def parse(response: httpx.Response) -> M:
        return model.model_validate(response.json())

    return parse


def parse_json(response: httpx.Response) -> Any:
    return response.json()


def parse_none(_: httpx.Response) -> None:
    return None


def parse_bytes(response: httpx.Response) -> bytes:
    return response.content


def clean_params(**params: Any) -> dict[str, Any]:
    """Query parameters without the ``None`` ones (the server's defaults apply)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = str(value).lower() if isinstance(value, bool) else value
    return out


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; ``attempts`` counts the first try.

    ``max_elapsed_s`` bounds the time spent retrying instead (services waiting out an outage of
    another service): no retry is started that would end later than that after the first try.
    """

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 10.0
    statuses: frozenset[int] = frozenset({502, 503, 504})
    max_elapsed_s: float | None = None

    @classmethod
    def outage(cls, wait_s: float, backoff: float = 0.5) -> RetryPolicy:
        """Retry transport errors and every 5xx for up to ``wait_s`` seconds (0: never)."""
        return cls(
            attempts=1_000_000,
            backoff=backoff,
            statuses=frozenset(range(500, 600)),
            max_elapsed_s=wait_s,
        )

    def _sleep_for(self, attempt: int, elapsed: float) -> float | None:
        base: float = min(self.max_backoff, self.backoff * 2.0**attempt)
        delay = base * (0.5 + random.random() / 2)  # jitter spreads many clients apart
        if self.max_elapsed_s is not None and elapsed + delay > self.max_elapsed_s:
            return None
        return delay

    def after_error(
        self, call: Call[Any], exc: httpx.TransportError, attempt: int, elapsed: float = 0.0
    ) -> float | None:
        if attempt + 1 >= self.attempts:
            return None
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        return self._sleep_for(attempt, elapsed) if never_sent or call.retryable else None

    def after_status(
        self, call: Call[Any], response: httpx.Response, attempt: int, elapsed: float = 0.0
    ) -> float | None:
        if attempt + 1 >= self.attempts or not call.retryable:
            return None
        if response.status_code == 429:
            wait = _retry_after(response)
            return wait if wait is not None and wait <= self.max_retry_after else None
        if response.status_code in self.statuses:
            return self._sleep_for(attempt, elapsed)
        return None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(str(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


@dataclass
class TokenState:
    """The tokens in use and who to tell when they change (the CLI saves them to disk)."""

    tokens: Tokens | None = None
    on_change: Callable[[Tokens | None], None] | None = None
    static: bool = field(default=False)

    @property
    def access_token(self) -> str | None:
        return self.tokens.access_token if self.tokens else None

    def can_refresh(self) -> bool:
        return bool(self.tokens and self.tokens.refresh_token and not self.static)

    def refresh_due(self, now: float | None = None) -> bool:
        if not self.can_refresh() or self.tokens is None or self.tokens.expires_at is None:
            return False
        return (now or time.time()) >= self.tokens.expires_at - REFRESH_SKEW_SECONDS

    def set(self, tokens: Tokens | None) -> None:
        self.tokens = tokens
        if self.on_change is not None:
            self.on_change(tokens)


class CoreState:
    """What the sync and async cores hold alike: URLs, tokens, the retry policy, the timeout."""

    def __init__(
        self,
        auth_url: str | None,
        store_url: str | None,
        inference_url: str | None,
        token: str | None,
        tokens: Tokens | None,
        on_tokens: Callable[[Tokens | None], None] | None,
        timeout: float,
        retry: RetryPolicy | None,
    ) -> None:
        self.urls = resolve_urls(auth_url, store_url, inference_url)
        static = tokens is None and token is not None
        initial = tokens or (Tokens(access_token=token) if token else None)
        self._state = TokenState(initial, on_tokens, static=static)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout

    @property
    def tokens(self) -> Tokens | None:
        return self._state.tokens

    def _should_refresh(self, call: Call[Any], response: httpx.Response, refreshed: bool) -> bool:
        return (
            response.status_code == 401
            and call.auth
            and not refreshed
            and (self._state.can_refresh())
        )


def resolve_urls(
    auth_url: str | None, store_url: str | None, inference_url: str | None
) -> ServiceUrls:
    env = ServiceUrls.from_env()
    return ServiceUrls(
        auth_url=auth_url or env.auth_url,
        store_url=store_url or env.store_url,
        inference_url=inference_url or env.inference_url,
    )


def tokens_from(response: Mapping[str, Any], previous: Tokens | None = None) -> Tokens:
    """Turn a token response into :class:`Tokens` with an absolute expiry."""
    expires_in = response.get("expires_in")
    refresh = response.get("refresh_token") or (previous.refresh_token if previous else None)
    return Tokens(
        access_token=response["access_token"],
        refresh_token=refresh,
        expires_at=time.time() + float(expires_in) if expires_in else None,
    )


def base_url(urls: ServiceUrls, service: Service) -> str:
    url = {"auth": urls.auth_url, "store": urls.store_url, "inference": urls.inference_url}
    return url[service].rstrip("/")


def request_kwargs(call: Call[Any], urls: ServiceUrls, token: str | None) -> dict[str, Any]:
    """Arguments for ``httpx.Client.build_request`` (files are added by the sender)."""
    headers = {"User-Agent": USER_AGENT, **(call.headers or {})}
    if token and call.auth:
        headers["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {
        "method": call.method,
        "url": base_url(urls, call.service) + call.path,
        "params": dict(call.params) if call.params else None,
        "headers": headers,
    }
    if call.json is not None:
        kwargs["json"] = call.json
    if call.data is not None:
        kwargs["data"] = dict(call.data)
    return kwargs


def filename_from(response: httpx.Response, fallback: str) -> str:
    """The server's file name from ``Content-Disposition``, reduced to a bare, safe name."""
    header = response.headers.get("Content-Disposition", "")
    name = ""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and "''" in value:
            name = urllib.parse.unquote(value.split("''", 1)[1])
            break
        if key.lower() == "filename":
            name = value.strip('"')
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else fallback


@contextlib.contextmanager
def no_files() -> Iterator[dict[str, Any]]:
    yield {}


class SseParser:
    """Incremental Server-Sent Events parser: feed lines, get dicts (the JSON ``data`` plus
    ``event`` and ``id`` when the data does not carry them)."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}
        self._data: list[str] = []

    def feed(self, line: str) -> dict[str, Any] | None:
        if line == "":
            return self.flush()
        if not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                self._data.append(value)
            elif name in ("event", "id"):
                self._meta[name] = value
        return None

    def flush(self) -> dict[str, Any] | None:
        meta, data = self._meta, self._data
        self._meta, self._data = {}, []
        if not data:
            return None
        text = "\n".join(data)
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        out: dict[str, Any] = body if isinstance(body, dict) else {"data": body}
        for key, value in meta.items():
            out.setdefault(key, value)
        return out
