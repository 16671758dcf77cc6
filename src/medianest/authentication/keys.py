"""The ES256 signing key pair: created at first start (private key mode 0600) or loaded.

The public key is always derived from the private key. The public key file is written when missing
and replaced when stale at its default place; a configured one that does not match is left alone
(it may belong to someone else) with a warning.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from medianest.common.errors import Unauthorized
from medianest.common.security import ALGORITHM, PublicKeyProvider

log = logging.getLogger("medianest.authentication.keys")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): required members, sorted, no whitespace."""
    canonical = json.dumps(public_jwk(key), sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class KeyPair:
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    kid: str

    @classmethod
    def from_private(cls, private_key: ec.EllipticCurvePrivateKey) -> KeyPair:
        public = private_key.public_key()
        return cls(private_key, public, thumbprint(public))

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self) -> dict[str, str]:
        return {**public_jwk(self.public_key), "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise RuntimeError(f"{path} is not an EC P-256 private key")
    if path.stat().st_mode & 0o077:
        log.warning("private key file is readable by others", extra={"path": str(path)})
    return key


def _create_private(path: Path) -> ec.EllipticCurvePrivateKey | None:
    """Write a new key with O_EXCL (mode 0600); None if another process won the race."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "wb") as fh:
        fh.write(_private_pem(key))
    log.info("created a new signing key pair", extra={"path": str(path)})
    return key


def _write_public(path: Path, pair: KeyPair, replace: bool) -> None:
    pem = pair.public_pem()
    if path.exists() and path.read_text() == pem:
        return
    if path.exists():
        action = "replaced" if replace else "left alone"
        log.warning(
            f"public key file does not match the private key: {action}", extra={"path": str(path)}
        )
        if not replace:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(pem)
    tmp.replace(path)


def load_or_create(private_path: Path, public_path: Path, replace_public: bool = True) -> KeyPair:
    key = _load_private(private_path) if private_path.exists() else _create_private(private_path)
    if key is None:  # created concurrently by another process: wait for its write to finish
        for _ in range(50):
            with contextlib.suppress(ValueError):
                key = _load_private(private_path)
                break
            time.sleep(0.05)
        if key is None:
            raise RuntimeError(f"cannot read the private key at {private_path}")
    pair = KeyPair.from_private(key)
    _write_public(public_path, pair, replace_public)
    return pair


class OwnKeyProvider(PublicKeyProvider):
    """The auth service verifies its own tokens with its own public key (and its ``kid``)."""

    def __init__(self, pair: KeyPair) -> None:
        super().__init__()
        self._pair = pair

    def key_for(self, kid: str | None) -> ec.EllipticCurvePublicKey:
        if kid is not None and kid != self._pair.kid:
            raise Unauthorized("token signed by an unknown key")
        return self._pair.public_key
