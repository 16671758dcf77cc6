"""The dependency audit gate (scripts/audit_deps.py): what fails the build and what is reported.

The real audit runs in ``make test`` / ``make audit`` against PyPI; these tests pin down its
decisions on known inputs (pip-audit's JSON format and PyPI's package document format).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.unit]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "scripts" / "audit_deps.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text("# pinned\nJinja2==3.1.2\ntorch==2.13.0+cpu\nPyWavelets==1.9.0\n\n")
    return path


def _pip_audit(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps), "fixes": []}


def test_lock_is_read_with_canonical_names_and_without_local_labels(
    audit: ModuleType, lock: Path
) -> None:
    assert audit.read_lock(lock) == {"jinja2": "3.1.2", "torch": "2.13.0", "pywavelets": "1.9.0"}
    lock.write_text("fastapi>=0.1\n")
    with pytest.raises(ValueError, match="not pinned"):
        audit.read_lock(lock)


def test_fixable_vulnerability_fails_unfixed_one_is_only_reported(
    audit: ModuleType, lock: Path
) -> None:
    pins = audit.read_lock(lock)
    report = audit.from_pip_audit(_pip_audit(
        {"name": "jinja2", "version": "3.1.2",
         "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}]},
        {"name": "torch", "version": "2.13.0", "vulns": [{"id": "PYSEC-X", "fix_versions": []}]},
        {"name": "PyWavelets", "version": "1.9.0", "vulns": []},
    ), pins)  # fmt: skip
    code, lines = audit.verdict(report, pins, strict=True)
    assert code == 1
    assert "  VULNERABLE jinja2==3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in: 3.1.3)" in lines
    assert "  VULNERABLE torch==2.13.0: PYSEC-X (fixed in: no fixed release yet)" in lines

    unfixed_only = audit.from_pip_audit(_pip_audit(
        {"name": "jinja2", "version": "3.1.2", "vulns": []},
        {"name": "torch", "version": "2.13.0", "vulns": [{"id": "PYSEC-X", "fix_versions": []}]},
        {"name": "pywavelets", "version": "1.9.0", "vulns": []},
    ), pins)  # fmt: skip
    code, lines = audit.verdict(unfixed_only, pins, strict=True)
    assert code == 0
    assert lines[0] == "audited 3 of 3 locked packages"


def test_skipped_packages_fall_back_to_pypi_documents_of_the_latest_release(
    audit: ModuleType, lock: Path
) -> None:
    pins = audit.read_lock(lock)
    skipped = "Dependency not found on PyPI and could not be audited"
    report = audit.from_pip_audit(_pip_audit(
        {"name": "jinja2", "skip_reason": skipped}, {"name": "torch", "skip_reason": skipped},
    ), pins)  # fmt: skip
    assert set(report.unaudited) == {"jinja2", "torch", "pywavelets"}
    documents = {
        "jinja2": {"info": {"version": "3.1.2"},
                   "vulnerabilities": [{"id": "GHSA-1", "fixed_in": ["3.1.3"]}]},
        "torch": {"info": {"version": "2.15.0"}, "vulnerabilities": []},
        "pywavelets": None,  # unreachable
    }  # fmt: skip
    audit.from_latest_documents(report, pins, documents.get)
    assert report.advisories == {"jinja2": [audit.Advisory("GHSA-1", ("3.1.3",))]}
    assert "PyPI only describes latest 2.15.0" in report.unaudited["torch"]
    assert "unreachable" in report.unaudited["pywavelets"]
    code, lines = audit.verdict(report, pins, strict=False)
    assert code == 1  # the fixable advisory found through the fallback still fails the build
    assert "NOT AUDITED (2):" in lines


def test_strict_fails_on_blind_spots_and_default_lists_them(audit: ModuleType, lock: Path) -> None:
    pins = audit.read_lock(lock)
    report = audit.from_pip_audit({}, pins)  # pip-audit did not run at all
    assert len(report.unaudited) == 3
    assert audit.verdict(report, pins, strict=True)[0] == 2
    code, lines = audit.verdict(report, pins, strict=False)
    assert code == 0
    assert lines[0] == "audited 0 of 3 locked packages"
    assert "NOT AUDITED (3):" in lines
