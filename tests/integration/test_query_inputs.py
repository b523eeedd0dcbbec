"""Every time and cursor input of the query API, on the real service: a value outside what
the schema states gets a 400 naming the field and what it accepts (a 500 before, for a
moment before the epoch), a value inside it is answered, and a route that does not take
an input names it as not taken. Results as of a moment not come yet are a 404: none exist
yet (the schema cannot say "not after now", so such a moment is schema-valid)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from boleta.settings import Settings
from queries.errors import REQUEST_ID
from queries.inputs import decode_cursor
from tests.integration.test_queries import served  # noqa: F401 - fixture

RANGE = "from 1970-01-01T00:00:00Z to the year 9999"
BEFORE_THE_EPOCH = ("1900-01-01T00:00:00Z", "0346-08-03T14:10:25Z", "0001-01-01T00:00:00Z")
FAR = "0.5_1.0_2.999999999999999999_999999.1"
MALFORMED = ("0.5", "0", "yesterday", "2026-11-30T20:00:00", "2026-02-30T00:00:00Z")


def refused(response: httpx.Response, field: str, accepted: str, status: int = 400) -> None:
    """``response`` is a ``status`` naming ``field`` (in ``detail`` and ``extra``) and what
    it accepts, with a request id."""
    where = f"{response.request.url}: {response.text}"
    assert response.status_code == status, where
    body = response.json()
    assert body["detail"].startswith(f"{field}: "), where
    assert accepted in " ".join(body["detail"].split()), where
    assert [item["key"] for item in body["extra"]] == [field], where
    assert response.headers[REQUEST_ID], where


def test_as_of_outside_its_range_is_refused_naming_it(served: tuple[Settings, str]) -> None:  # noqa: F811
    _, base = served
    url = f"{base}/api/v1/contests/main/results"
    for value in BEFORE_THE_EPOCH + MALFORMED:
        refused(httpx.get(url, params={"as_of": value}, timeout=30), "as_of", RANGE)
    future = (
        (datetime.now(UTC) + timedelta(days=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+05:30")
    )
    not_yet = httpx.get(url, params={"as_of": future}, timeout=30)
    refused(not_yet, "as_of", "not after now", status=404)
    assert "in the future" in not_yet.json()["detail"]


def test_as_of_inside_its_range_is_answered(served: tuple[Settings, str]) -> None:  # noqa: F811
    _, base = served
    url = f"{base}/api/v1/contests/main/results"
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for value, moment in (
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("1970-01-01T00:00:00-03:00", datetime(1970, 1, 1, 3, tzinfo=UTC)),
        (an_hour_ago.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+01:00"), None),
        (an_hour_ago.isoformat(), an_hour_ago),
    ):
        answer = httpx.get(url, params={"as_of": value}, timeout=30)
        assert answer.status_code == 200, (value, answer.text)
        body = answer.json()
        assert (body["total"], body["final"]) == (0, True), value
        if moment is not None:
            assert datetime.fromisoformat(body["as_of"]) == moment, value


def test_since_until_limit_and_cursor_outside_their_range_are_refused_naming_them(
    served: tuple[Settings, str],  # noqa: F811
) -> None:
    _, base = served
    url = f"{base}/api/v1/votes"
    for field in ("since", "until"):
        for value in BEFORE_THE_EPOCH + MALFORMED:
            refused(httpx.get(url, params={field: value}, timeout=10), field, RANGE)
    for value in ("0", "", "!!!", "eyJub3QiOiAiYSBjdXJzb3IifQ", "-1.5", "0.5_"):
        refused(httpx.get(url, params={"cursor": value}, timeout=10), "cursor", "next_cursor")
    for value in ("0", "201", "-1", "abc", "1.5", "9" * 40):
        refused(
            httpx.get(url, params={"limit": value}, timeout=10),
            "limit",
            "accepted: an integer from 1 to 200",
        )


def test_since_until_limit_and_cursor_inside_their_range_are_answered(
    served: tuple[Settings, str],  # noqa: F811
) -> None:
    _, base = served
    url = f"{base}/api/v1/votes"
    empty = {"votes": [], "next_cursor": None}
    for params in (
        {"since": "1970-01-01T00:00:00Z"},
        {"until": "1970-01-01T00:00:00Z"},  # nothing was cast before the epoch
        {"since": "9999-12-31T23:59:59.999999999Z"},
        {"until": "9999-12-31T23:00:00-05:00"},  # past the year 9999 in UTC: no bound
        {"since": "2026-01-01T00:00:00+14:00", "until": "2025-01-01T00:00:00Z"},
        {"cursor": "0.5"},
        {"cursor": FAR},
        {"limit": "1"},
        {"limit": "200"},
    ):
        answer = httpx.get(url, params=params, timeout=10)
        assert answer.status_code == 200, (params, answer.text)
        assert answer.json()["votes"] == [], params
        if params != {"cursor": FAR}:
            assert answer.json() == empty, params
    # Far below the end of nothing: a page cut short by its budget moves on down.
    further = decode_cursor(httpx.get(url, params={"cursor": FAR}).json()["next_cursor"])
    assert all(further[p] < o for p, o in decode_cursor(FAR).items() if o > 0)


def test_a_route_that_does_not_take_an_input_names_it(served: tuple[Settings, str]) -> None:  # noqa: F811
    _, base = served
    for path, field in (
        ("/api/v1/results", "as_of"),
        ("/api/v1/results", "cursor"),
        ("/api/v1/results/stream", "as_of"),
        ("/api/v1/contests/main/results", "since"),
        ("/api/v1/contests/main/results/stream", "as_of"),
        ("/api/v1/contests/main/results/stream", "until"),
        ("/api/v1/contests", "limit"),
        ("/api/v1/votes", "as_of"),
    ):
        answer = httpx.get(f"{base}{path}", params={field: "2026-01-01T00:00:00Z"}, timeout=10)
        refused(answer, field, "not taken here")
