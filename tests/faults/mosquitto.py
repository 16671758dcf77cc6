"""A private Mosquitto broker for fault tests: its own port, config and log in a temp dir, so it
can be stopped and started again (on the same port) without touching the shared broker on 1883."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.inference.standin import free_port

MOSQUITTO = "/usr/sbin/mosquitto"


def mosquitto_binary() -> str | None:
    """The broker executable, or None when Mosquitto is not installed."""
    if Path(MOSQUITTO).is_file():
        return MOSQUITTO
    return shutil.which("mosquitto")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@dataclass
class PrivateBroker:
    """One Mosquitto process on ``port``; ``stop()`` and ``start()`` may be repeated."""

    folder: Path
    binary: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "mosquitto.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def start(self, timeout: float = 15.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
        )
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto not listening on {self.port}:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the broker and wait until it is gone and the port refuses connections."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + timeout
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextmanager
def private_broker(folder: Path) -> Iterator[PrivateBroker]:
    """Start a private broker in ``folder``; it is stopped at exit whatever happened."""
    binary = mosquitto_binary()
    if binary is None:
        raise FileNotFoundError(MOSQUITTO)
    folder.mkdir(parents=True, exist_ok=True)
    broker = PrivateBroker(folder, binary)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


class Subscriber:
    """A paho subscriber that re-subscribes after every reconnect and collects JSON messages."""

    def __init__(self, port: int, topics: list[str]) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.connects = 0
        self._topics = topics
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fault-test-{uuid.uuid4().hex[:8]}",
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 2)
        self._client.connect_async("127.0.0.1", port, 30)
        self._client.loop_start()

    def _on_connect(self, client: Any, _u: Any, _f: Any, _rc: Any, _p: Any = None) -> None:
        self.connects += 1
        for topic in self._topics:
            client.subscribe(topic, qos=1)

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self.messages.put((msg.topic, json.loads(msg.payload)))

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.connects < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"subscriber not connected {count} time(s)")
            time.sleep(0.05)
        time.sleep(0.2)  # let the SUBSCRIBE reach the broker

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        items = []
        while True:
            try:
                items.append(self.messages.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
