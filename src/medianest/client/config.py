"""Where the CLI keeps credentials and which service URLs it uses.

Credentials live in ``$MEDIANEST_CONFIG_DIR/credentials.json`` when that variable is set, else
``$XDG_CONFIG_HOME/medianest/credentials.json`` (``~/.config/medianest`` by default). The file is
written atomically with mode 0600 in a 0700 folder: it holds a refresh token.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel

DEFAULT_AUTH_URL = "http://127.0.0.1:8002"
DEFAULT_STORE_URL = "http://127.0.0.1:8000"
DEFAULT_INFERENCE_URL = "http://127.0.0.1:8001"


class ServiceUrls(BaseModel):
    auth_url: str = DEFAULT_AUTH_URL
    store_url: str = DEFAULT_STORE_URL
    inference_url: str = DEFAULT_INFERENCE_URL

    @classmethod
    def from_env(cls) -> ServiceUrls:
        env = os.environ
        return cls(
            auth_url=env.get("MEDIANEST_AUTH_URL", DEFAULT_AUTH_URL),
            store_url=env.get("MEDIANEST_MEDIA_STORE_URL", DEFAULT_STORE_URL),
            inference_url=env.get("MEDIANEST_INFERENCE_URL", DEFAULT_INFERENCE_URL),
        )


class Tokens(BaseModel):
    """What a login gives: the access token, its expiry (epoch seconds) and the refresh token."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None


class Credentials(BaseModel):
    """The saved session: who logged in, where, and their tokens."""

    username: str
    urls: ServiceUrls
    tokens: Tokens


def config_dir() -> Path:
    if override := os.environ.get("MEDIANEST_CONFIG_DIR"):
        return Path(override)
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "medianest"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def load_credentials() -> Credentials | None:
    path = credentials_path()
    try:
        return Credentials.model_validate(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        return None  # unreadable or corrupt: behave as logged out


def save_credentials(creds: Credentials) -> Path:
    """Write atomically: a temp file made 0600 from the start, then renamed over the old one."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(creds.model_dump_json(indent=2))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def delete_credentials() -> bool:
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


def session_urls(saved: Credentials | None) -> ServiceUrls:
    """Environment variables win over the URLs saved at login, which win over the defaults."""
    base = saved.urls if saved else ServiceUrls()
    env = os.environ
    return ServiceUrls(
        auth_url=env.get("MEDIANEST_AUTH_URL", base.auth_url),
        store_url=env.get("MEDIANEST_MEDIA_STORE_URL", base.store_url),
        inference_url=env.get("MEDIANEST_INFERENCE_URL", base.inference_url),
    )
