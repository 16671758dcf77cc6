"""Settings come from `MEDIANEST_*` (and each service's prefix), never from unrelated variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from medianest.authentication.config import Settings as AuthSettings
from medianest.common.settings import CommonSettings
from medianest.inference.config import Settings as InferenceSettings
from medianest.inference.config import WorkerSettings
from medianest.media_store.config import Settings as StoreSettings

pytestmark = [pytest.mark.unit]
ALL = (CommonSettings, AuthSettings, StoreSettings, InferenceSettings, WorkerSettings)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("MEDIANEST_HOME", "MEDIANEST_LOG_LEVEL", "MEDIANEST_LOG_JSON"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("settings_class", ALL)
def test_plain_home_and_log_level_variables_are_ignored(
    clean_env: pytest.MonkeyPatch, settings_class: type[CommonSettings]
) -> None:
    """Regression: ``CommonSettings()`` (used by ``medianest up``) read $HOME as the data dir."""
    clean_env.setenv("HOME", "/root")
    clean_env.setenv("LOG_LEVEL", "DEBUG")
    settings = settings_class()
    assert settings.home == Path("./data")
    assert settings.log_level == "INFO"


@pytest.mark.parametrize("settings_class", ALL)
def test_medianest_variables_are_read(
    clean_env: pytest.MonkeyPatch, settings_class: type[CommonSettings], tmp_path: Path
) -> None:
    clean_env.setenv("MEDIANEST_HOME", str(tmp_path))
    clean_env.setenv("MEDIANEST_LOG_LEVEL", "WARNING")
    settings = settings_class()
    assert settings.home == tmp_path
    assert settings.log_level == "WARNING"
