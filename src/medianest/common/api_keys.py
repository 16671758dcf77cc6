"""API keys on every service, without a round trip to the auth service on each request.

A key (``mnk_`` + 43 base64url characters: 256 random bits) is exchanged at the auth service
(``POST /auth/api-key-token``) for a short-lived access token whose permissions are the key's
scopes intersected with its owner's *current* permissions. The token's signature is checked like
any other token, and the caller it describes is cached here, keyed by the key's SHA-256 (the raw
key is never kept), for ``MEDIANEST_API_KEY_CACHE_S`` (default 60 s) and never past the token's
own expiry. So a revoked key, an expired key or a demoted owner takes effect within that cache
time at most, which is never longer than the access-token lifetime. Refusals are cached a few
seconds too, so a client hammering with a bad key costs the auth service little.

Why an exchange rather than self-verifying (signed) keys: a signed key would stay valid until its
own expiry whatever happens to it or its owner, unless every service also fetched a revocation
list, which is a round trip again. The exchange keeps one source of truth (the auth database)
and reuses the token machinery every service already trusts.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from medianest.common.errors import ServiceUnavailable, Unauthorized
from medianest.common.security import (
    API_KEY_PREFIX,
    TokenUser,
    TokenVerifier,
    user_from_claims,
)

log = logging.getLogger("medianest.security.api_keys")
API_KEY_PATTERN = re.compile(rf"^{API_KEY_PREFIX}[A-Za-z0-9_-]{{43}}$")
EXCHANGE_PATH = "/auth/api-key-token"
_NEGATIVE_CACHE_S = 5.0
_EXPIRY_MARGIN_S = 5.0

Exchange = Callable[[str], str]  # raw key -> signed access token (raises Unauthorized)


def key_digest(raw_key: str) -> str:
    """The SHA-256 (hex) under which a key is stored and cached.

    A fast hash is right here, unlike for passwords: the key is 256 random bits, so nobody can
    guess it from the hash however fast the hash is, and a slow hash (argon2) would only make
    every exchange expensive (and a lever for denial of service)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def well_formed(raw_key: str) -> bool:
    return API_KEY_PATTERN.fullmatch(raw_key) is not None


@dataclass(frozen=True)
class _Entry:
    until: float  # time.monotonic()
    user: TokenUser | None
    detail: str = ""


class ApiKeyAuthenticator:
    """Authenticates raw API keys through ``exchange``, with a bounded cache (thread-safe)."""

    def __init__(
        self,
        exchange: Exchange,
        verifier: TokenVerifier,
        cache_s: float = 60.0,
        max_entries: int = 10_000,
    ) -> None:
        self.exchange = exchange
        self.verifier = verifier
        self.cache_s = cache_s
        self.max_entries = max_entries
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, raw_key: str) -> TokenUser:
        if not well_formed(raw_key):
            raise Unauthorized("malformed API key")
        digest = key_digest(raw_key)
        cached = self._cached(digest)
        if cached is not None:
            if cached.user is None:
                raise Unauthorized(cached.detail)
            return cached.user
        try:
            token = self.exchange(raw_key)
        except Unauthorized as exc:
            self._put(digest, _Entry(time.monotonic() + _NEGATIVE_CACHE_S, None, str(exc.detail)))
            raise
        claims = self.verifier.claims(token)
        user = user_from_claims(claims)
        if user.api_key_id is None:
            raise Unauthorized("the exchanged token is not an API-key token")
        left = float(claims["exp"]) - time.time() - _EXPIRY_MARGIN_S
        ttl = min(self.cache_s, left)
        if ttl > 0:
            self._put(digest, _Entry(time.monotonic() + ttl, user))
        return user

    def forget(self, raw_key: str) -> None:
        with self._lock:
            self._cache.pop(key_digest(raw_key), None)

    def _cached(self, digest: str) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            if entry.until <= time.monotonic():
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return entry

    def _put(self, digest: str, entry: _Entry) -> None:
        with self._lock:
            self._cache[digest] = entry
            self._cache.move_to_end(digest)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)


class RemoteExchange:
    """Exchanges a key at the auth service over HTTP (what the store and inference use)."""

    def __init__(self, auth_url: str, timeout: float = 5.0) -> None:
        self.url = auth_url.rstrip("/") + EXCHANGE_PATH
        self.timeout = timeout

    def __call__(self, raw_key: str) -> str:
        try:
            resp = httpx.post(self.url, headers={"X-API-Key": raw_key}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            log.warning("API key exchange failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailable(
                "authentication service unreachable", headers={"Retry-After": "5"}
            ) from exc
        if resp.status_code in (401, 403):
            raise Unauthorized(_detail(resp) or "invalid API key")
        token = _token(resp) if resp.status_code == 200 else None
        if token is None:
            log.warning("API key exchange refused", extra={"status": resp.status_code})
            raise ServiceUnavailable("authentication service could not check the API key")
        return token


def _detail(resp: httpx.Response) -> str | None:
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        return None
    return detail if isinstance(detail, str) else None


def _token(resp: httpx.Response) -> str | None:
    try:
        token = resp.json().get("access_token")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) else None
