"""Secrets never reach a log line: the formatter redacts tokens, keys and passwords."""

from __future__ import annotations

import json
import logging

import pytest

from medianest.common.logging import JsonFormatter, redact

pytestmark = [pytest.mark.unit]


def test_redact_removes_jwts_passwords_and_private_keys() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0abc.c2lnbmF0dXJlc2lnbmF0dXJl"
    text = (
        f"Authorization: Bearer {token} password=hunter22 "
        '{"refresh_token": "abcdef"} -----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----'
    )
    out = redact(text)
    for secret in (token, "hunter22", "abcdef", "MIGH"):
        assert secret not in out


def test_json_formatter_emits_one_json_object_with_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("world",), "path": "/a"}
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["msg"] == "hello world"
    assert data["path"] == "/a"
