"""What the service layer needs besides a session: keys, password hasher, throttle, settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from medianest.authentication.config import Settings
from medianest.authentication.keys import KeyPair, load_or_create
from medianest.authentication.passwords import Passwords
from medianest.authentication.throttle import LoginThrottle


@dataclass
class AuthContext:
    settings: Settings
    keys: KeyPair
    passwords: Passwords
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthContext:
        return cls(
            settings=settings,
            keys=keys_for(settings),
            passwords=passwords_for(settings),
            throttle=LoginThrottle(
                window_s=settings.throttle_window_s,
                max_per_username=settings.throttle_max_per_username,
                max_per_address=settings.throttle_max_per_address,
            ),
        )


def keys_for(settings: Settings) -> KeyPair:
    """Load or create the key pair; a configured public key file is never overwritten."""
    return load_or_create(
        settings.private_key_file(),
        settings.public_key_file(),
        replace_public=settings.public_key_path is None,
    )


def passwords_for(settings: Settings) -> Passwords:
    return Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )
