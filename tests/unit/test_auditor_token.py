"""The auditor routes' guard (queries.audit_api) on the app the factory builds, no services:
any Authorization header but the auditor's bearer token is answered 401 with
``WWW-Authenticate: Bearer`` before any parameter is read or the audit log is asked; the
token itself is let through to the reader. The public routes ask for no token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.board import Pseudonyms
from queries.app import QueryConfig, create_app
from queries.timeline import Positions
from queries.views import AuditPage, AuditRecord
from queries.votes import MongoVotes, VoteFilter
from tests.unit.test_query_errors import FailingResults

TOKEN = "Zr4-auditor-token_0123456789abcdef"
VOTER = "5541999990001"
RECORD = AuditRecord(
    event_id="01890000-0000-7000-8000-000000000001",
    vote_id="9f0c1c0e-5d7a-4c1e-9a55-3b7e4f1d2a10",
    contest="jury",
    band="Green Ridge",
    album="Imbituva",
    year=2008,
    rank=7,
    cast_at=datetime(2026, 12, 7, 1, 19, tzinfo=UTC),
    partition=0,
    offset=42,
    voter_id=VOTER,
)
URLS = [
    "/api/v1/audit/votes",
    "/api/v1/audit/votes?limit=0",
    f"/api/v1/audit/votes/{RECORD.vote_id}",
    "/api/v1/audit/votes/not-a-uuid",
]


class OneVote(MongoVotes):
    """The audit log's reader over one record held in memory."""

    def __init__(self) -> None:
        pass

    async def page(self, flt: VoteFilter, limit: int, start: Positions | None) -> AuditPage:
        return AuditPage([RECORD], None)

    async def by_vote_id(self, vote_id: str) -> AuditRecord | None:
        return RECORD if vote_id == RECORD.vote_id else None


class Untouchable(OneVote):
    """A reader that must not be asked: a read is an error, answered 500."""

    async def page(self, flt: VoteFilter, limit: int, start: Positions | None) -> AuditPage:
        raise RuntimeError("the audit log was read")

    async def by_vote_id(self, vote_id: str) -> AuditRecord | None:
        raise RuntimeError("the audit log was read")


def client(reader: MongoVotes) -> TestClient[Any]:
    config = QueryConfig(Pseudonyms(b"s" * 32), auditor_token=TOKEN)
    no_redis = FailingResults(ConnectionError("no Redis here"))
    return TestClient(create_app(config, lambda: no_redis, lambda: reader))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    """The app over one record, and the app whose audit log must not be read."""
    with client(OneVote()) as http, client(Untouchable()) as untouchable:
        yield http, untouchable


def accepted(header: str) -> bool:
    """RFC 6750's form: the scheme, in any case, a space, the token."""
    return re.fullmatch(r"(?i:bearer) [ \t]*" + re.escape(TOKEN), header) is not None


near_misses = st.sampled_from(
    [
        TOKEN[:-1],
        TOKEN + "x",
        TOKEN.swapcase(),
        "x" * len(TOKEN),
        TOKEN[1:] + TOKEN[0],
        "",
    ]
)
headers = st.one_of(
    st.builds(
        lambda scheme, credentials: f"{scheme} {credentials}".strip(),
        st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "Bearer:", ""]),
        near_misses | st.just(TOKEN),
    ),
    st.from_regex(r"[!-~]([ -~\t]{0,60}[!-~])?", fullmatch=True),
)


@given(header=headers, url=st.sampled_from(URLS))
@settings(max_examples=300, deadline=None)
def test_only_the_auditor_s_token_is_let_through(
    served: tuple[TestClient[Any], TestClient[Any]], header: str, url: str
) -> None:
    http, untouchable = served
    answer = http.get(url, headers={"Authorization": header})
    if accepted(header):
        assert answer.status_code in (200, 400, 404), answer.text
        return
    assert answer.status_code == 401, (header, answer.text)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["status_code"] == 401
    assert VOTER not in answer.text
    assert RECORD.band not in answer.text
    unread = untouchable.get(url, headers={"Authorization": header})
    assert unread.status_code == 401, "refused only after the audit log was read"


def test_no_header_is_refused_and_the_token_reads_the_full_record(
    served: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    http, _ = served
    refused = http.get(URLS[2])
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in refused.json()["detail"]
    full = http.get(URLS[2], headers={"Authorization": f"Bearer {TOKEN}"})
    assert full.status_code == 200
    assert full.json()["voter_id"] == VOTER
    page = http.get(URLS[0], headers={"Authorization": f"Bearer {TOKEN}"})
    assert [v["voter_id"] for v in page.json()["votes"]] == [VOTER]


def test_the_public_routes_take_no_token_and_show_the_pseudonym(
    served: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    http, _ = served
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        one = http.get(f"/api/v1/votes/{RECORD.vote_id}", headers=headers)
        page = http.get("/api/v1/votes", headers=headers)
        assert one.status_code == page.status_code == 200
        assert VOTER not in one.text + page.text
        assert one.json()["voter"] == Pseudonyms(b"s" * 32).voter("jury", VOTER)


def test_the_schema_states_the_bearer_scheme_on_the_auditor_routes_only(
    served: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    http, _ = served
    schema = http.get("/schema/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["auditorToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, item in schema["paths"].items():
        secured = item["get"].get("security")
        if path.startswith("/api/v1/audit/"):
            assert secured == [{"auditorToken": []}], path
            assert "401" in item["get"]["responses"], path
        else:
            assert secured is None, path
    assert {"/api/v1/audit/votes", "/api/v1/audit/votes/{vote_id}"} <= set(schema["paths"])
