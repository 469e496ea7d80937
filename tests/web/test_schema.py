"""Property-based tests of the API against its own published OpenAPI schema: no input gives a server error.

Schemathesis generates requests for every operation from `/api/v1/openapi.json` (bodies, parameters, headers,
both conforming and not); each is sent through the ASGI app with an admin key, so that every code path
behind the access checks is reached, and once more without a key.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from thuocdo.web.app import create_app
from thuocdo.workflows.service import Service, Settings


def _served() -> tuple[Service, str, schemathesis.BaseSchema]:
    home = Path(tempfile.mkdtemp(prefix="thuocdo-schema-"))
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    admin, _ = service.access.create_key("admin")
    service.access.publish("2022-Q1")
    return service, admin, schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(service=service))


SERVICE, ADMIN, SCHEMA = _served()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module", autouse=True)
def _close_service() -> Iterator[None]:
    yield
    SERVICE.close()
    shutil.rmtree(SERVICE.home, ignore_errors=True)


def test_every_operation_is_tested() -> None:
    assert len(OPERATIONS) >= 20


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_input_gives_a_server_error(operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        for headers in ({"X-API-Key": ADMIN}, {}):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code,
                                                response.text[:500])

    check()
