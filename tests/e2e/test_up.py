"""`medianest up` as a person runs it: the whole system starts, a login and an upload work,
Ctrl-C stops every process, and no secret ever appears in the logs of the run."""

from __future__ import annotations

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class System:
    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    urls: dict[str, str]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_for(system: System, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in system.log_text():
            return
        assert system.proc.poll() is None, f"medianest up exited:\n{system.log_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not seen in {timeout}s:\n{system.log_text()[-3000:]}")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("up")
    urls = {
        name: f"http://127.0.0.1:{_free_port()}"
        for name in ("auth", "media_store", "inference", "web")
    }
    env = {
        **os.environ,
        "MEDIANEST_HOME": str(home / "data"),
        "MEDIANEST_AUTH_URL": urls["auth"],
        "MEDIANEST_MEDIA_STORE_URL": urls["media_store"],
        "MEDIANEST_INFERENCE_URL": urls["inference"],
        "MEDIANEST_WEB_URL": urls["web"],
        "MEDIANEST_LOG_LEVEL": "DEBUG",  # the most verbose logs must still hold no secret
    }
    env.pop("AUTH_ADMIN_PASSWORD", None)
    log = home / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medianest", "up", "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
    sys_ = System(proc, home / "data", log, urls)
    try:
        _wait_for(sys_, "Press Ctrl-C to stop.", 180)
        yield sys_
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((320, 240)).save(buf, "JPEG")
    return buf.getvalue()


def test_admin_password_file_is_private_and_login_and_upload_work(system: System) -> None:
    pw_file = system.home / "admin-password"
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    password = pw_file.read_text().strip()
    assert password not in ("admin", "")
    assert len(password) >= 16
    login = httpx.post(
        f"{system.urls['auth']}/auth/token", data={"username": "admin", "password": password}
    )
    assert login.status_code == 200
    tokens = login.json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    upload = httpx.post(
        f"{system.urls['media_store']}/entity/",
        data={"is_collection": "false", "label": "gradient"},
        files={"image": ("gradient.jpg", _jpeg(), "image/jpeg")},
        headers=auth,
        timeout=30,
    )
    assert upload.status_code == 201, upload.text
    entity_id = upload.json()["id"]
    deadline = time.monotonic() + 60  # the inference service follows the store's feed
    jobs: list[dict[str, object]] = []
    while time.monotonic() < deadline and not jobs:
        resp = httpx.get(
            f"{system.urls['inference']}/job/", params={"media_store_id": entity_id}, headers=auth
        )
        jobs = resp.json()["items"]
        time.sleep(0.5)
    assert {j["task_type"] for j in jobs} >= {"face_embedding", "image_embedding"}
    bad = httpx.post(
        f"{system.urls['auth']}/auth/token", data={"username": "admin", "password": "wrong-pw-1"}
    )
    assert bad.status_code == 401
    (system.home.parent / "secrets.txt").write_text(
        "\n".join([password, tokens["access_token"], tokens["refresh_token"]])
    )


def test_the_web_app_is_printed_first_and_fronts_every_api(system: System) -> None:
    banner = system.log_text().split("MediaNest is starting:\n", 1)[1].splitlines()
    assert banner[0].split()[:3] == ["web", "app", f"{system.urls['web']}/"]
    password = (system.home / "admin-password").read_text().strip()
    web = system.urls["web"]
    login = httpx.post(
        f"{web}/api/auth/auth/token", data={"username": "admin", "password": password}
    )
    assert login.status_code == 200
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert httpx.get(f"{web}/api/store/timeline/buckets", headers=auth).status_code == 200
    assert httpx.get(f"{web}/api/inference/health").status_code == 200
    assert httpx.get(f"{web}/api/web/health").json()["status"] == "ok"


def test_ctrl_c_stops_everything_and_logs_hold_no_secret(system: System) -> None:
    system.proc.send_signal(signal.SIGINT)
    assert system.proc.wait(60) == 0
    for url in system.urls.values():
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"{url} still listening"
    logs = system.log_text()
    assert "request" in logs  # the access log ran, so there was something to leak
    secrets_file = system.home.parent / "secrets.txt"
    secrets = secrets_file.read_text().splitlines() if secrets_file.exists() else []
    key = (system.home / "keys" / "auth-private.pem").read_text()
    key_body = "".join(key.strip().splitlines()[1:-1])
    secrets += [key_body[:40], key_body[-40:]]
    for secret in secrets:
        assert secret
        assert secret not in logs
