"""``medianest worker`` command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medianest.cli import app

pytestmark = [pytest.mark.inference, pytest.mark.unit]


def test_worker_command_is_registered_with_its_options() -> None:
    result = CliRunner().invoke(app, ["worker", "--help"])
    assert result.exit_code == 0
    for option in ("--concurrency", "--batch", "--inference-url", "--store-url", "--task-type"):
        assert option in result.output


def test_unknown_task_type_is_refused_before_starting() -> None:
    result = CliRunner().invoke(app, ["worker", "--concurrency", "1", "--task-type", "bogus"])
    assert result.exit_code == 2
    assert "unknown task types: bogus" in result.output


def test_test_only_tasks_are_unknown_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERENCE_ENABLE_TEST_TASKS", raising=False)
    result = CliRunner().invoke(app, ["worker", "--concurrency", "1", "--task-type", "noop"])
    assert result.exit_code == 2
