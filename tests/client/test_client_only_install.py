"""``pip install medianest`` without extras: the SDK and the user CLI, and nothing of the server.

The wheel is built from a copy of the source (no deprecation warnings allowed), installed into a
fresh venv with its declared dependencies only, and used against the real services.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from tests.client.conftest import ADMIN_PASSWORD, Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("client-only")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    build = _run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])",
            str(tmp / "dist"),
        ],
        cwd=source,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    output = build.stdout + build.stderr
    assert "Deprecat" not in output, output[-3000:]  # e.g. a TOML-table project.license
    wheels = list((tmp / "dist").glob("medianest-*.whl"))
    assert len(wheels) == 1
    venv = tmp / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    # only the wheel's own dependencies, from PyPI or pip's cache; no constraints of the servers
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_CONSTRAINT")}
    install = _run([str(venv / "bin" / "pip"), "install", "-q", str(wheels[0])], env=env)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv


def _env(cluster: Cluster, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in cluster.env.items() if k != "PYTHONPATH"}
    return {**env, "MEDIANEST_CONFIG_DIR": str(tmp_path / "config"), "COLUMNS": "160"}


def test_client_install_has_no_server_packages(client_venv: Path, tmp_path: Path) -> None:
    probe = textwrap.dedent(
        """
        import importlib.util, json
        names = ["fastapi", "sqlalchemy", "torch", "starlette", "alembic", "httpx", "pydantic"]
        print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = _run([str(client_venv / "bin" / "python"), "-c", probe], env=env, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == (
        '{"fastapi": false, "sqlalchemy": false, "torch": false, "starlette": false, '
        '"alembic": false, "httpx": true, "pydantic": true}'
    )


def test_client_install_cli_helps_and_names_the_server_extra(
    client_venv: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    medianest = str(client_venv / "bin" / "medianest")
    top = _run([medianest, "--help"], env=env, cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert "login" in top.stdout
    assert "upload" in top.stdout
    login = _run([medianest, "login", "--help"], env=env, cwd=tmp_path)
    assert login.returncode == 0, login.stderr
    assert "--username" in login.stdout or "USERNAME" in login.stdout
    up = _run([medianest, "up"], env=env, cwd=tmp_path)
    assert up.returncode == 2
    assert "medianest[server]" in up.stderr


def test_client_install_sdk_round_trip(client_venv: Path, cluster: Cluster, tmp_path: Path) -> None:
    photo = tmp_path / "red.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (220, 10, 10)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    script = textwrap.dedent(
        """
        import sys
        import medianest.client.models as models
        from medianest.client import MediaNestClient

        with MediaNestClient() as mn:
            mn.login("admin", sys.argv[1])
            result = mn.upload(sys.argv[2])
            assert isinstance(result.entity, models.EntityRead)
            ids = [e.id for e in mn.iter_entities()]
            assert result.entity.id in ids, ids
            job = mn.create_job("image_info", result.entity.id)
            read = mn.get_job(job.job_id)
            assert isinstance(read, models.JobRead) and read.job_id == job.job_id
            print("ok", result.entity.id, read.status.value)
        """
    )
    done = _run(
        [str(client_venv / "bin" / "python"), "-c", script, ADMIN_PASSWORD, str(photo)],
        env=_env(cluster, tmp_path),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")
