"""Schemathesis against the served OpenAPI document: no 5xx, no response outside the schema.

Every operation the app publishes is fuzzed in-process (ASGI), on SQLite and on
PostgreSQL, with data that fits the document and with data that breaks it, as an
admin scoped at the root (so scope never hides a route) and as a member (so the
refusals are fuzzed too). Checks: no server error; the status code, content type,
headers and body each conform to what the document declares. The run is bounded:
a fixed number of examples per operation and mode, no deadline per example,
derandomised so CI always runs the same cases. Every failing operation is reported,
not only the first.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http.conftest import auth

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 10
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_operation_answers_5xx_or_outside_its_schema(client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    callers = (auth("admin", "TW"), auth("member", "HN-BD-01", member="M0"))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                for headers in callers:
                    case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Exception as e:
                failures.append(f"{operation.label} ({mode.value}): {str(e)[:1500]}")
    assert operations >= 10
    assert failures == [], "\n\n".join(failures)
