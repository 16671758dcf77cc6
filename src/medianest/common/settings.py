"""Settings shared by every service.

Each service subclasses :class:`CommonSettings` with its own ``env_prefix`` (``AUTH_``,
``MEDIA_STORE_``, ``INFERENCE_``); the shared fields keep their ``MEDIANEST_`` names through
explicit aliases, so one environment configures the whole system.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class CommonSettings(BaseSettings):
    """Fields every service reads, named ``MEDIANEST_*`` in the environment."""

    # the prefix matters when a field is read by its own name (populate_by_name): without it,
    # `home` would be read from $HOME and `log_level` from $LOG_LEVEL
    model_config = SettingsConfigDict(
        env_prefix="MEDIANEST_", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default=Path("./data"), validation_alias=_alias("MEDIANEST_HOME"))
    auth_url: str = Field(
        default="http://127.0.0.1:8002", validation_alias=_alias("MEDIANEST_AUTH_URL")
    )
    media_store_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=_alias("MEDIANEST_MEDIA_STORE_URL")
    )
    inference_url: str = Field(
        default="http://127.0.0.1:8001", validation_alias=_alias("MEDIANEST_INFERENCE_URL")
    )
    mqtt_url: str | None = Field(default=None, validation_alias=_alias("MEDIANEST_MQTT_URL"))
    public_key_path: Path | None = Field(
        default=None, validation_alias=_alias("MEDIANEST_PUBLIC_KEY_PATH")
    )
    log_level: str = Field(default="INFO", validation_alias=_alias("MEDIANEST_LOG_LEVEL"))
    # None: JSON lines unless stderr is a terminal (then human-readable lines)
    log_json: bool | None = Field(default=None, validation_alias=_alias("MEDIANEST_LOG_JSON"))
    cors_origins: list[str] = Field(
        default_factory=list, validation_alias=_alias("MEDIANEST_CORS_ORIGINS")
    )
    # a static bearer token for Prometheus on /metrics (an admin access token works too)
    metrics_token: str | None = Field(
        default=None, validation_alias=_alias("MEDIANEST_METRICS_TOKEN"), repr=False
    )
    token_issuer: str = Field(
        default="medianest-auth", validation_alias=_alias("MEDIANEST_TOKEN_ISSUER")
    )
    token_audience: str = Field(
        default="medianest", validation_alias=_alias("MEDIANEST_TOKEN_AUDIENCE")
    )
    # how long a service trusts what an API key exchange told it (bounded by the token's expiry)
    api_key_cache_s: float = Field(
        default=60.0, ge=0, le=3600, validation_alias=_alias("MEDIANEST_API_KEY_CACHE_S")
    )
    # demo mode: every request without credentials is an admin; loopback only (common/demo.py)
    auth_disabled: bool = Field(default=False, validation_alias=_alias("MEDIANEST_AUTH_DISABLED"))
    # the interface this process serves on (set by `medianest serve`; checked in demo mode)
    bind_host: str | None = Field(default=None, validation_alias=_alias("MEDIANEST_BIND_HOST"))

    def data_dir(self, *parts: str) -> Path:
        """Return (and create) a folder inside the data dir."""
        path = self.home.joinpath(*parts).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.data_dir() / name}"
