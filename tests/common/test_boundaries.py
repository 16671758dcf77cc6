"""The package boundaries of docs/ARCHITECTURE.md, checked on the source: common imports no
service, services never import each other, the client imports only ``medianest.contracts``, and
the contracts import nothing but pydantic (no SQLAlchemy, FastAPI or Starlette)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit]

SRC = Path(__file__).resolve().parents[2] / "src" / "medianest"
SERVICES = ("authentication", "media_store", "inference", "web")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.startswith("medianest.")}


def _violations(package: str, allowed: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[1]
            if top in ("common", package, "__version__") or name.startswith(allowed):
                continue
            if top in (*SERVICES, "client", "cli"):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    return bad


def test_common_imports_no_service() -> None:
    assert _violations("common", ()) == []


# The SDK's request core is the one HTTP client (issue 11): services may send through it.
SDK_CORE = tuple(
    f"medianest.client.{m}"
    for m in ("_base", "_sync_core", "_async_core", "_endpoints", "errors", "config")
)


@pytest.mark.parametrize("service", SERVICES)
def test_services_do_not_import_each_other(service: str) -> None:
    assert _violations(service, SDK_CORE) == []


def _all_imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((SRC / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(SRC))] = names
    return found


def test_client_imports_only_the_contracts() -> None:
    bad = [
        f"{path} imports {name}"
        for path, names in _all_imports("client").items()
        for name in names
        if name.startswith("medianest.")
        and not name.startswith(("medianest.client", "medianest.contracts"))
        and name != "medianest.__version__"
    ]
    assert bad == []


def test_contracts_are_pydantic_only() -> None:
    server_side = ("sqlalchemy", "fastapi", "starlette", "alembic", "torch", "numpy", "PIL")
    bad = [
        f"{path} imports {name}"
        for path, names in _all_imports("contracts").items()
        for name in names
        if name.split(".")[0] in server_side
        or (name.startswith("medianest.") and not name.startswith("medianest.contracts"))
    ]
    assert bad == []
