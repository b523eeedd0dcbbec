"""Fuzz the query API from its own OpenAPI schema (schemathesis): no 5xx, responses conform.

Cases come from schemathesis' strategies and run under hypothesis directly (its pytest
plugin does not run on pytest 9 yet)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from boleta.settings import Settings
from tests.integration.test_queries import counted, served  # noqa: F401 - fixtures


def test_the_api_never_fails_and_conforms_to_its_schema(
    counted: tuple[Settings, str, list],  # noqa: F811
) -> None:
    _, base, _ = counted
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json").exclude(
        path="/api/v1/results/stream"  # an endless stream; covered in test_queries
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/votes", "/api/v1/votes/{vote_id}"}
    calls: list[int] = []

    @given(case=st.one_of([op.as_strategy() for op in operations]))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # An opaque cursor or a date without a time zone is schema-valid text that the API
        # rightly refuses with a 400 naming the parameter, so "positive data acceptance"
        # is left out; every other check (no 5xx, status codes, content types, response
        # schemas, negative data rejected) runs.
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
        calls.append(response.status_code)
        assert response.status_code < 500

    check()
    assert len(calls) >= 100
