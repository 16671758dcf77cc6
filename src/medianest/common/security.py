"""ES256 JWT verification and the permission dependencies every service declares.

Only the authentication service signs tokens. Other services verify them with its public key,
read from ``MEDIANEST_PUBLIC_KEY_PATH`` or fetched from the auth service's JWKS (cached,
refetched, rate-limited, when a token names an unknown ``kid``). The dependencies here are
synchronous, so FastAPI runs them in its thread pool: a key fetch never blocks the event loop.

Callers authenticate with an access token (``Authorization: Bearer <jwt>``) or an API key
(``Authorization: Bearer mnk_...`` or ``X-API-Key: mnk_...``). An API key is exchanged at the
auth service for a short-lived access token and the result cached (see ``common/api_keys.py``),
so a service does not ask the auth service on every request. With ``MEDIANEST_AUTH_DISABLED``
(demo mode, loopback only) a request without credentials is served as an administrator.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medianest.common.errors import Forbidden, ServiceUnavailable, Unauthorized
from medianest.common.openapi import raises
from medianest.common.permissions import Permission, grants

log = logging.getLogger("medianest.security")
ALGORITHM = "ES256"
API_KEY_PREFIX = "mnk_"
_REFETCH_INTERVAL_S = 30.0


@dataclass(frozen=True)
class TokenUser:
    """The caller, as the token describes it."""

    id: int
    permissions: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    username: str | None = None
    jti: str | None = None
    api_key_id: int | None = None  # set when the caller authenticated with an API key

    def has(self, permission: str) -> bool:
        return self.is_admin or grants(self.permissions, permission)


# Demo mode (MEDIANEST_AUTH_DISABLED): who a request without credentials is. The auth service
# replaces it with its bootstrapped admin's real id (app.state.demo_user).
DEMO_ADMIN = TokenUser(id=1, permissions=frozenset({"*"}), is_admin=True, username="admin")


class KeyAuthenticator(Protocol):
    """Turns a raw API key into the caller it stands for (or raises Unauthorized)."""

    def authenticate(self, raw_key: str) -> TokenUser: ...


def load_public_key(pem: bytes | str) -> EllipticCurvePublicKey:
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, EllipticCurvePublicKey):
        raise ValueError("the public key is not an EC (P-256) key")
    return key


class PublicKeyProvider:
    """Public keys by ``kid``: from a file, or fetched from the auth service and cached."""

    def __init__(
        self, *, key_path: Path | None = None, auth_url: str | None = None, timeout: float = 5.0
    ) -> None:
        self._keys: dict[str, EllipticCurvePublicKey] = {}
        self._static: EllipticCurvePublicKey | None = None
        self._auth_url = auth_url.rstrip("/") if auth_url else None
        self._timeout = timeout
        self._lock = threading.Lock()
        self._last_fetch = 0.0
        if key_path is not None:
            self._static = load_public_key(Path(key_path).read_bytes())

    def key_for(self, kid: str | None) -> EllipticCurvePublicKey:
        if self._static is not None:
            return self._static
        if kid and kid in self._keys:
            return self._keys[kid]
        self._refresh(force=not self._keys)
        if kid and kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise Unauthorized("token signed by an unknown key")

    def _refresh(self, force: bool) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_fetch < _REFETCH_INTERVAL_S:
                return
            if self._auth_url is None:
                raise ServiceUnavailable("no public key configured")
            self._last_fetch = now
            self._keys = self._fetch_jwks()

    def _fetch_jwks(self) -> dict[str, EllipticCurvePublicKey]:
        try:
            resp = httpx.get(f"{self._auth_url}/.well-known/jwks.json", timeout=self._timeout)
            resp.raise_for_status()
            keys = {}
            for jwk in resp.json().get("keys", []):
                key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
                if isinstance(key, EllipticCurvePublicKey) and jwk.get("kid"):
                    keys[jwk["kid"]] = key
            return keys
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("could not fetch public keys", extra={"error": type(exc).__name__})
            raise ServiceUnavailable(
                "authentication service unreachable", headers={"Retry-After": "5"}
            ) from exc


class TokenVerifier:
    """Decode and check an access token: signature, algorithm, expiry, issuer, audience, claims."""

    def __init__(
        self,
        keys: PublicKeyProvider,
        issuer: str,
        audience: str,
        api_keys: KeyAuthenticator | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.api_keys = api_keys

    def verify(self, token: str) -> TokenUser:
        return user_from_claims(self.claims(token))

    def authenticate_key(self, raw_key: str) -> TokenUser:
        if self.api_keys is None:
            raise Unauthorized("API keys are not accepted by this service")
        return self.api_keys.authenticate(raw_key)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of an access token (Unauthorized when anything is wrong)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("token algorithm not accepted")
        key = self.keys.key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid token") from exc
        return claims


def user_from_claims(claims: dict[str, Any]) -> TokenUser:
    if claims.get("typ", "access") != "access":
        raise Unauthorized("not an access token")
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("token has no valid subject") from exc
    perms = claims.get("permissions") or []
    if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
        raise Unauthorized("token permissions malformed")
    key_id = claims.get("api_key_id")
    return TokenUser(
        id=user_id,
        permissions=frozenset(perms),
        is_admin=claims.get("is_admin") is True,
        username=claims.get("username") if isinstance(claims.get("username"), str) else None,
        jti=claims.get("jti"),
        api_key_id=key_id if isinstance(key_id, int) and not isinstance(key_id, bool) else None,
    )


bearer_scheme = HTTPBearer(
    auto_error=False,
    description=(
        "An access token from POST /auth/token, or an API key (mnk_..., from "
        "POST /users/me/api-keys), which may also be sent as the X-API-Key header"
    ),
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


# Not a second OpenAPI security scheme: two schemes in one requirement would read as "both
# required"; the bearer scheme's description documents the header instead.
def api_key_header(
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> str | None:
    return x_api_key


ApiKeyCredential = Annotated[str | None, Depends(api_key_header)]


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


def _demo_user(request: Request) -> TokenUser | None:
    """The administrator every anonymous request is in demo mode, else None."""
    settings = getattr(request.app.state, "settings", None)
    if not getattr(settings, "auth_disabled", False):
        return None
    user: TokenUser = getattr(request.app.state, "demo_user", DEMO_ADMIN)
    return user


@raises(401, 503)  # 503: the auth service's keys could not be fetched
def get_optional_user(
    request: Request, credentials: Credentials, api_key: ApiKeyCredential
) -> TokenUser | None:
    """The caller if a token or key was sent (a bad one is still a 401), else None."""
    if api_key is not None:
        if credentials is not None:
            raise Unauthorized("send one credential: an Authorization header or X-API-Key")
        return _verifier(request).authenticate_key(api_key)
    if credentials is None:
        return _demo_user(request)
    if credentials.scheme.lower() != "bearer":
        raise Unauthorized("bearer token required")
    if credentials.credentials.startswith(API_KEY_PREFIX):
        return _verifier(request).authenticate_key(credentials.credentials)
    return _verifier(request).verify(credentials.credentials)


@raises(401, 503)
def get_current_user(
    request: Request, credentials: Credentials, api_key: ApiKeyCredential
) -> TokenUser:
    user = get_optional_user(request, credentials, api_key)
    if user is None:
        raise Unauthorized()
    return user


def require_permission(*permissions: str) -> Callable[..., TokenUser]:
    """A dependency that passes admins and callers holding any of ``permissions``."""

    @raises(403)
    def dependency(user: Annotated[TokenUser, Depends(get_current_user)]) -> TokenUser:
        if not any(user.has(p) for p in permissions):
            raise Forbidden(f"requires permission: {' or '.join(permissions)}")
        return user

    return dependency


@raises(403)
def require_admin(user: Annotated[TokenUser, Depends(get_current_user)]) -> TokenUser:
    if not user.is_admin:
        raise Forbidden("administrator only")
    return user


def get_current_user_with_write_permission(name: str) -> Callable[..., TokenUser]:
    return require_permission(name)


def get_current_user_with_read_permission(name: str) -> Callable[..., TokenUser | None]:
    """Reads are open unless the service says read-auth is on (``app.state.read_auth_required``)."""

    @raises(401, 403, 503)
    def dependency(
        request: Request, user: Annotated[TokenUser | None, Depends(get_optional_user)]
    ) -> TokenUser | None:
        required: Callable[[], bool] | None = getattr(request.app.state, "read_auth_required", None)
        if required is not None and not required():
            return user
        if user is None:
            raise Unauthorized()
        if not user.has(name):
            raise Forbidden(f"requires permission: {name}")
        return user

    return dependency


CurrentUser = Annotated[TokenUser, Depends(get_current_user)]
OptionalUser = Annotated[TokenUser | None, Depends(get_optional_user)]
Admin = Annotated[TokenUser, Depends(require_admin)]
StoreRead = Annotated[
    TokenUser | None, Depends(get_current_user_with_read_permission(Permission.MEDIA_STORE_READ))
]
StoreWrite = Annotated[
    TokenUser, Depends(get_current_user_with_write_permission(Permission.MEDIA_STORE_WRITE))
]
InferenceUser = Annotated[TokenUser, Depends(require_permission(Permission.AI_INFERENCE_SUPPORT))]
InferenceWorker = Annotated[TokenUser, Depends(require_permission(Permission.AI_INFERENCE_WORKER))]
SearchUser = Annotated[
    TokenUser,
    Depends(require_permission(Permission.MEDIA_STORE_READ, Permission.AI_INFERENCE_SUPPORT)),
]
