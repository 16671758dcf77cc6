"""Argon2id password hashing (argon2-cffi). Callers run it in a thread: ~100 ms per hash."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hash and verify; the unknown-user path verifies against a dummy hash to cost the same."""

    def __init__(self, time_cost: int = 3, memory_cost_kib: int = 65_536, parallelism: int = 4):
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> bool:
        """Spend the time of a real verification, then fail (for unknown usernames)."""
        self.verify(self._dummy, password)
        return False


def generate_password() -> str:
    """A strong random password (32 URL-safe characters, ~190 bits)."""
    return secrets.token_urlsafe(24)
