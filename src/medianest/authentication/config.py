"""Settings of the authentication service (``AUTH_*``; shared fields are ``MEDIANEST_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from medianest.common.settings import CommonSettings


class Settings(CommonSettings):
    """Authentication settings. Argon2 costs are configurable so tests can run cheaply."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", populate_by_name=True)

    database_url: str | None = None
    access_token_ttl_s: int = Field(default=900, ge=10, le=86_400)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=60, le=365 * 86_400)
    # lifetime of the access tokens API keys are exchanged for (never above access_token_ttl_s)
    api_key_token_ttl_s: int = Field(default=300, ge=10, le=86_400)
    api_keys_per_user: int = Field(default=100, ge=1, le=10_000)
    private_key_path: Path | None = None
    # The auth service writes this file; other services read the same MEDIANEST_PUBLIC_KEY_PATH.
    public_key_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "AUTH_PUBLIC_KEY_PATH", "MEDIANEST_PUBLIC_KEY_PATH", "public_key_path"
        ),
    )
    # The seed's unprefixed ADMIN_USERNAME / ADMIN_PASSWORD are still honoured.
    admin_username: str = Field(
        default="admin",
        validation_alias=AliasChoices("AUTH_ADMIN_USERNAME", "ADMIN_USERNAME", "admin_username"),
    )
    admin_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AUTH_ADMIN_PASSWORD", "ADMIN_PASSWORD", "admin_password"),
    )
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost_kib: int = Field(default=65_536, ge=8, le=4_194_304)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)
    throttle_window_s: int = Field(default=300, ge=1)
    throttle_max_per_username: int = Field(default=5, ge=1)
    throttle_max_per_address: int = Field(default=20, ge=1)

    def db_url(self) -> str:
        return self.database_url or self.sqlite_url("authentication.db")

    def private_key_file(self) -> Path:
        return self.private_key_path or self.home / "keys" / "auth-private.pem"

    def public_key_file(self) -> Path:
        return self.public_key_path or self.home / "keys" / "auth-public.pem"

    def admin_password_file(self) -> Path:
        return self.home / "admin-password"

    def key_token_ttl_s(self) -> int:
        return min(self.api_key_token_ttl_s, self.access_token_ttl_s)
