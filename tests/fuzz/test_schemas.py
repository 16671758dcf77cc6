"""Schema fuzzing of every service's OpenAPI document with schemathesis, against real processes.

Each operation gets a bounded number of generated requests (``MEDIANEST_FUZZ_EXAMPLES``, default
4 so ``make test`` fits the CI budget; ``make fuzz`` runs 200), once with an admin token and
once with none. Goals: no 5xx, every status is one the operation documents, and every body matches
the schema documented for its status.
"""

from __future__ import annotations

import contextlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import APIOperation

from tests.fuzz.conftest import Running

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = int(os.environ.get("MEDIANEST_FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
SSE_TIMEOUT_S = 1.5
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


SERVICES = ["auth", "media_store", "inference"]


def _fuzz_operation(operation: APIOperation, running: Running, admin: bool) -> list[str]:
    """Run the generated cases of one operation; return a description of each failure."""
    headers = running.admin_headers if admin else {}
    failures: list[str] = []
    # An SSE stream never ends: its status and headers are checked, then the read times out
    # (which the call tolerates, returning what arrived); 30 s per example would be wasted.
    timeout = SSE_TIMEOUT_S if operation.path == "/events" else 30

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=timeout)
        except Exception as exc:  # collect, so one run reports every broken operation
            failures.append(f"{operation.label}: {str(exc)[:600]}")
            raise

    with contextlib.suppress(Exception, BaseExceptionGroup):
        check()
    return failures


@pytest.mark.parametrize("admin", [True, False], ids=["admin", "anonymous"])
@pytest.mark.parametrize("service", SERVICES)
def test_api_schema_fuzzing(running_system: Running, service: str, admin: bool) -> None:
    url = running_system.urls[service]
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "no operations in the OpenAPI document"
    failures: list[str] = []
    for operation in operations:
        failures.extend(_fuzz_operation(operation, running_system, admin))
    assert failures == []
