"""Property-based tests of the API against its own published OpenAPI schema: the API answers as it documents.

Schemathesis generates requests for every operation from `/api/v1/openapi.json`, conforming ones (positive)
and ones that break the schema (negative); each is sent through the ASGI app with an admin key, so that every
code path behind the access checks is reached, and once more as generated (no key, or a made-up one in
`X-API-Key` or `Authorization`, as the security schemes allow). Every answer is checked:

* no server error (`not_a_server_error`);
* its status is one the schema declares for the operation (`status_code_conformance`);
* its media type is one the schema declares for that status (`content_type_conformance`);
* its body conforms to the schema declared for that status and media type (`response_schema_conformance`);
* a conforming request is not refused as malformed (`positive_data_acceptance`: 2xx, 401, 403 or 404 are
  fine, 400 or 422 are not).

The run is bounded: `POSITIVE` + `NEGATIVE` cases per operation (fewer where each case builds a document:
`FEWER`), about 430 in all, two calls each. Every violation is collected, and the test of the operation fails
listing one example of each.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.failures import Failure, FailureGroup

from thuocdo.catalog import load_catalog
from thuocdo.ingest.validate import province_codes
from thuocdo.web.app import create_app
from thuocdo.workflows.service import Service, Settings

#: cases per operation, of each generation mode
POSITIVE = 20
NEGATIVE = 10
#: fewer for the operations whose conforming requests each build something heavy: a report for the seeded quarter
#: with new issue options is a new document (1-3 s each, PDF and DOCX included)
FEWER = {"GET /api/v1/reports/{period}/{fmt}": (8, 6)}

RESPONSE_CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                   checks.response_schema_conformance]
POSITIVE_CHECKS = [*RESPONSE_CHECKS, checks.positive_data_acceptance]


def _served() -> tuple[Service, str, schemathesis.BaseSchema]:
    home = Path(tempfile.mkdtemp(prefix="thuocdo-schema-"))
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    admin, _ = service.access.create_key("admin")
    service.access.publish("2022-Q1")
    app = create_app(service=service)
    with TestClient(app) as client:  # a little data, so that the results answer rows too
        rows = [{"user_id": f"p{i}", "platform": "zalo", "time": "2022-01-15", "active_seconds": 60} for i in range(3)]
        seeded = client.post("/api/v1/sources/seed/usage", content=orjson.dumps(rows), headers={"X-API-Key": admin})
        assert seeded.status_code == 200, seeded.text
    return service, admin, schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


SERVICE, ADMIN, SCHEMA = _served()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
#: cases sent, per operation label (the total is printed at the end of the module, seen with -s)
SENT: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_service() -> Iterator[None]:
    yield
    print(f"\nschemathesis: {sum(SENT.values())} cases over {len(SENT)} operations")
    SERVICE.close()
    shutil.rmtree(SERVICE.home, ignore_errors=True)


def test_every_operation_is_tested() -> None:
    assert len(OPERATIONS) >= 20


CATALOG = load_catalog()
#: the one quarter with data (the seeded records of January 2022): the only one whose report is built
SEEDED_QUARTER = "2022-Q1"


def _across_parameters(case: schemathesis.Case) -> bool:
    """A request that may break a rule between parameters OpenAPI cannot state; the parameters' descriptions say
    so and the routes answer 422, which they declare; such a request is not counted as a conforming one:

    * MAU from sketches (`distinct=sketch`) is by platform or by province, not by category, and of one source
      (not a union `a,b` nor `national`);
    * a report's issue date follows its quarter and the documents it cites, and its issuer existed on that day
      (`date`, `issuer`): checked only where a report is built, the quarter with data;
    * a source's coverage is for a census, names provinces of the catalog, each province and month once;
    * a union names each source once (`a,a`: 422), and `national` is answered when the stored sources can make
      the estimate (a panel, or operators with a declared coverage; otherwise 422 says what to declare)."""
    query = case.query or {}
    if query.get("distinct") == "sketch" and query.get("by") == "category":
        return True
    source = str(query.get("source") or "")
    if source == "national" or len(source.split(",")) != len(set(source.split(","))):
        return True
    if query.get("distinct") == "sketch" and (source == "national" or "," in source):
        return True
    if case.operation.path == "/api/v1/sources/{source}" and case.method.upper() == "PUT":
        return _coverage_beyond_the_schema(case.body)
    period = str((case.path_parameters or {}).get("period", "")).upper()
    return (case.operation.path == "/api/v1/reports/{period}/{fmt}" and period == SEEDED_QUARTER
            and (query.get("date") is not None or query.get("issuer") is not None))


def _coverage_beyond_the_schema(body: object) -> bool:
    """Whether a declaration's coverage breaks a rule of the body's description (see :func:`_across_parameters`)."""
    if not isinstance(body, dict) or not isinstance(body.get("coverage"), list) or not body["coverage"]:
        return False
    coverage = body["coverage"]
    if body.get("kind") != "census":
        return True
    pairs = [(province_codes(CATALOG, str(item.get("province", "")))[1], item.get("month"))
             for item in coverage if isinstance(item, dict)]
    return any(code is None for code, _ in pairs) or len(set(pairs)) < len(pairs)


def _describe(case: schemathesis.Case, who: str, status: int, failure: Failure) -> str:
    first = failure.message.strip().splitlines()[0] if failure.message.strip() else ""
    query = f"?{case.query}" if case.query else ""
    return f"{case.method} {case.formatted_path}{query} ({who}, {status}): {failure.title}: {first[:200]}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_api_answers_as_its_schema_says(operation: schemathesis.APIOperation) -> None:
    findings: dict[str, str] = {}

    def run(case: schemathesis.Case, checks_: list[schemathesis.CheckFunction]) -> None:
        SENT[operation.label] = SENT.get(operation.label, 0) + 1
        for who, headers in (("admin", {"X-API-Key": ADMIN}), ("generated", {})):
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=checks_, headers=headers)
            except FailureGroup as group:
                failures: list[Failure] = list(group.exceptions)
            except Failure as failure:
                failures = [failure]
            else:
                failures = []
            for failure in failures:  # one example of each kind of violation, per status and caller
                findings.setdefault(f"{failure.title}|{response.status_code}|{who}",
                                    _describe(case, who, response.status_code, failure))

    positives, negatives = FEWER.get(operation.label, (POSITIVE, NEGATIVE))

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)
           .filter(lambda case: not _across_parameters(case)))
    @settings(max_examples=positives, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def positive(case: schemathesis.Case) -> None:
        run(case, POSITIVE_CHECKS)

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
    @settings(max_examples=negatives, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def negative(case: schemathesis.Case) -> None:
        run(case, RESPONSE_CHECKS)

    positive()
    if operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"):
        negative()  # (an operation without parameters or body has nothing to break)
    assert not findings, "\n".join(sorted(findings.values()))
