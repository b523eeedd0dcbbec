"""The query service's errors (queries.errors), on the app the factory builds with stores
that fail on purpose (no services): a 500 leaves its traceback in the log with a request
id that the response carries too, and nothing more; every response carries a request id.

The fault is injected through the factory's own arguments (the callables that open the
read models), so the app under test is the one ``boleta serve queries`` runs, with no
route or setting added for tests."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar.testing import TestClient

from boleta import logs
from domain.board import Pseudonyms
from queries.app import QueryConfig, create_app
from queries.errors import REQUEST_ID
from queries.results import RedisResults
from queries.views import ResultsView
from queries.votes import MongoVotes

FAULT = "injected fault: the tallies reader broke"
SECRET = b"s" * 32  # the board's pseudonym secret (the public votes show pseudonyms)
GENERATED = re.compile(r"[0-9a-f]{32}")


class FailingResults(RedisResults):
    """The tallies reader, failing: with a bug (RuntimeError) or as an unreachable store."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    async def read(self, contest: str, status: str) -> ResultsView:
        raise self._error

    async def contests(self) -> dict[str, int]:
        raise self._error

    async def version(self, contest: str) -> tuple[str, ...]:
        raise self._error

    async def ping(self) -> bool:
        raise self._error


class NoVotes(MongoVotes):
    def __init__(self) -> None:
        pass

    async def ping(self) -> bool:
        return True


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """The service's log, configured as ``boleta serve queries`` configures it (JSON
    lines), written here instead of to stderr."""
    saved, root = structlog.get_config(), list(logging.getLogger().handlers)
    stream = io.StringIO()
    logs.configure(stream=stream)
    yield stream
    structlog.configure(**saved)
    logging.getLogger().handlers[:] = root


def logged(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]


def client(error: Exception) -> TestClient[Any]:
    app = create_app(QueryConfig(Pseudonyms(SECRET)), lambda: FailingResults(error), NoVotes)
    return TestClient(app)


def test_a_500_is_logged_with_its_traceback_and_request_id_which_the_response_carries(
    log: io.StringIO,
) -> None:
    with client(RuntimeError(FAULT)) as http:
        response = http.get("/api/v1/results")
    assert response.status_code == 500
    request_id = response.headers[REQUEST_ID]
    assert GENERATED.fullmatch(request_id)
    body = response.json()
    assert body["status_code"] == 500
    assert request_id in body["detail"]
    assert "Traceback" not in response.text
    assert FAULT not in response.text
    errors = [e for e in logged(log) if e.get("request_id") == request_id]
    assert len(errors) == 1, errors
    (error,) = errors
    assert (error["level"], error["status"], error["path"]) == ("error", 500, "/api/v1/results")
    assert error["exception"].startswith("Traceback")
    assert f"RuntimeError: {FAULT}" in error["exception"]


def test_a_sane_request_id_is_kept_and_any_other_replaced(
    log: io.StringIO,
) -> None:
    with client(RuntimeError(FAULT)) as http:
        kept = http.get("/api/v1/results", headers={REQUEST_ID: "req-7f3a.2:b_9"})
        replaced = [
            http.get("/api/v1/results", headers={REQUEST_ID: hostile}).headers[REQUEST_ID]
            for hostile in ("x" * 129, '{"$ne": null}', "a b", "-leading", "é".encode())
        ]
    assert kept.headers[REQUEST_ID] == "req-7f3a.2:b_9"
    assert "req-7f3a.2:b_9" in kept.json()["detail"]
    assert all(GENERATED.fullmatch(r) for r in replaced)
    assert len(set(replaced)) == len(replaced)
    ids = {e.get("request_id") for e in logged(log)}
    assert {"req-7f3a.2:b_9", *replaced} <= ids


def test_every_response_carries_a_request_id_and_only_5xx_are_logged(
    log: io.StringIO,
) -> None:
    with client(ConnectionError("refused")) as http:
        answers = {
            200: http.get("/healthz"),
            400: http.get("/api/v1/votes", params={"limit": "abc"}),
            404: http.get("/nowhere"),
            405: http.post("/api/v1/votes"),
            503: http.get("/api/v1/results"),  # Redis unreachable, no earlier view
        }
        ready = http.get("/readyz")  # a 503 made without an exception
    for status, response in answers.items():
        assert response.status_code == status, response.text
        assert GENERATED.fullmatch(response.headers[REQUEST_ID]), status
    assert ready.status_code == 503
    lines = logged(log)
    by_id = {e.get("request_id"): e for e in lines}
    unavailable = by_id[answers[503].headers[REQUEST_ID]]
    assert (unavailable["level"], unavailable["status"]) == ("warning", 503)
    assert "ServiceUnavailableException" in unavailable["exception"]
    assert by_id[ready.headers[REQUEST_ID]]["status"] == 503
    for status in (200, 400, 404, 405):
        assert answers[status].headers[REQUEST_ID] not in by_id, status
