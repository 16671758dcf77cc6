"""Login throttling: per-username and per-address sliding windows with Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medianest.authentication.app import create_app
from medianest.authentication.config import Settings
from medianest.authentication.db import MIGRATIONS_DIR
from medianest.authentication.throttle import LoginThrottle
from medianest.common.errors import TooManyRequests
from tests.authentication.conftest import ADMIN_PASSWORD, MakeUser, login, make_settings
from tests.conftest import DatabaseFactory

pytestmark = [pytest.mark.auth]


def _fail(client: TestClient, username: str, times: int) -> list[int]:
    form = {"username": username, "password": "wrong-password"}
    return [client.post("/auth/token", data=form).status_code for _ in range(times)]


def test_repeated_failures_for_a_username_get_429_with_retry_after(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    assert _fail(client, "alice", 5) == [401] * 5
    resp = client.post("/auth/token", data={"username": "alice", "password": "alice-password"})
    assert resp.status_code == 429  # even the right password waits
    assert 1 <= int(resp.headers["retry-after"]) <= 300


def test_throttled_username_does_not_slow_other_users(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    make_user("bob", password="bob-password")
    _fail(client, "alice", 6)
    login(client, "bob", "bob-password")
    login(client, "admin", ADMIN_PASSWORD)


def test_successful_login_resets_the_username_counter(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    _fail(client, "alice", 4)
    login(client, "alice", "alice-password")
    assert _fail(client, "alice", 4) == [401] * 4


def test_unknown_usernames_are_throttled_too(client: TestClient) -> None:
    assert _fail(client, "ghost", 6)[-1] == 429


def test_many_usernames_from_one_address_get_429(
    db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    settings: Settings = make_settings(
        tmp_path / "home", db_factory.url(MIGRATIONS_DIR), throttle_max_per_address=3
    )
    with TestClient(create_app(settings)) as client:
        codes = [_fail(client, f"user{i}", 1)[0] for i in range(4)]
        assert codes == [401, 401, 401, 429]
        # the same address is locked out, whatever the account
        resp = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        assert resp.status_code == 429
        assert "retry-after" in resp.headers


def test_wrong_current_password_attempts_are_throttled(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    token = login(client, "alice", "alice-password")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"current_password": "not-it", "new_password": "brand-new-pass"}
    codes = [
        client.put("/users/me/password", json=body, headers=headers).status_code for _ in range(6)
    ]
    assert codes == [403] * 5 + [429]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_window_slides_and_failures_expire() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(window_s=60, max_per_username=2, max_per_address=10, clock=clock)
    throttle.record_failure("alice", "10.0.0.1")
    clock.now += 30
    throttle.record_failure("Alice", "10.0.0.1")  # usernames are counted case-insensitively
    assert throttle.retry_after("alice", None) == 30
    with pytest.raises(TooManyRequests) as exc:
        throttle.check("alice", "10.0.0.2")
    assert exc.value.headers == {"Retry-After": "30"}
    clock.now += 31
    assert throttle.retry_after("alice", None) is None  # the first failure left the window
    throttle.check("bob", "10.0.0.1")


@pytest.mark.unit
def test_address_limit_counts_across_usernames() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(window_s=60, max_per_username=100, max_per_address=3, clock=clock)
    for name in ("a", "b", "c"):
        throttle.record_failure(name, "10.0.0.9")
    assert throttle.retry_after("d", "10.0.0.9") == 60
    assert throttle.retry_after("d", "10.0.0.10") is None
    throttle.reset("a")
    assert throttle.retry_after("d", "10.0.0.9") == 60  # a success only clears the username
