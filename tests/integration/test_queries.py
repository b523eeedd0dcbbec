"""The query service over HTTP on the real Redis and FerretDB."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
import redis

from boleta.serve_projections import Model
from boleta.settings import Settings
from domain.names import shown_tallies
from projections.redis_sink import RedisTallies
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import (
    BANDS,
    make_events,
    produce,
    running_worker,
    wait_for,
)

HOSTILE = [
    {"band": '{"$ne": null}'},
    {"band": "$where"},
    {"album": "'; DROP TABLE votes; --"},
    {"band[$ne]": "x"},
    {"limit": "0"},
    {"limit": "201"},
    {"limit": "-1"},
    {"limit": "9" * 40},
    {"limit": "abc"},
    {"year": "x"},
    {"year": "1800"},
    {"since": "yesterday"},
    {"until": "2026-13-45T99:00:00Z"},
    {"since": "2026-01-01T00:00:00"},
    {"cursor": "!!!"},
    {"cursor": "eyJub3QiOiAiYSBjdXJzb3IifQ"},
    {"band": "x" * 10_000},
    {"unknown": "1"},
    {"band": ""},
    {"band": "\x00"},
    {"year": "2008.5"},
]


@pytest.fixture
def served(isolated: Settings) -> Iterator[tuple[Settings, str]]:
    settings = isolated.replace(query_port=free_port())
    with serving(settings) as base:
        yield settings, base


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@pytest.fixture
def counted(served: tuple[Settings, str]) -> Iterator[tuple[Settings, str, list]]:
    settings, base = served
    events = make_events(90, duplicate_every=10)
    produce(settings, events)
    distinct = len({e.vote_id for e in events})
    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):
        wait_for(
            lambda: httpx.get(f"{base}/api/v1/results").json()["total"] == distinct, 60, "tallies"
        )
        wait_for(lambda: len(_all_votes(base, {})) == distinct, 60, "audit")
        yield settings, base, events


def _all_votes(base: str, params: dict[str, str], limit: int = 200) -> list[dict]:
    found, cursor = [], None
    while True:
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/api/v1/votes", params=query, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["votes"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_results_match_the_read_model(counted: tuple[Settings, str, list]) -> None:
    settings, base, _ = counted
    body = httpx.get(f"{base}/api/v1/results").json()
    model = RedisTallies(redis.Redis.from_url(settings.redis_url), tag=settings.tallies_tag)
    whole = model.snapshot()
    snapshot = whole["contests"]["main"]
    assert body["contest"] == "main"
    assert body["status"] == "open"
    assert body["total"] == snapshot["total"] == whole["total"]
    # Counted by key, shown under each key's first spelling (domain.names).
    shown = shown_tallies(snapshot["bands"], snapshot["albums"], snapshot["names"])
    assert {b["band"]: b["votes"] for b in body["bands"]} == {b: v for b, v, _ in shown}
    albums = {(b["band"], a["album"]): a["votes"] for b in body["bands"] for a in b["albums"]}
    assert albums == {(b, a): v for b, _, band_albums in shown for a, v in band_albums}
    assert {b["band"] for b in body["bands"]} == set(BANDS)  # as cast, not the keys
    assert [b["votes"] for b in body["bands"]] == sorted(
        (b["votes"] for b in body["bands"]), reverse=True
    )
    assert {int(p): o for p, o in body["checkpoints"].items()} == whole["checkpoints"]
    assert (body["lag"], body["lag_source"]) == (0, "log")
    assert len(body["per_second"]) == 60


def test_the_lag_is_the_log_s_past_the_checkpoints(served: tuple[Settings, str]) -> None:
    """With no worker running the log runs ahead of the tallies, and the results say by
    how much (read from the log, not the lag a worker stored); the lag drains to 0 once a
    worker counts every message, in the results and in their stream."""
    settings, base = served
    events = make_events(40, contests=("main", "other"))
    produce(settings, events)

    def lag() -> tuple[int, str]:
        body = httpx.get(f"{base}/api/v1/results", timeout=10).json()
        return body["lag"], body["lag_source"]

    wait_for(lambda: lag() == (len(events), "log"), 30, "the lag of the whole log")
    with running_worker(settings, Model.tallies):
        wait_for(lambda: lag() == (0, "log"), 60, "the lag to drain")
    url = f"{base}/api/v1/contests/other/results/stream"
    with httpx.stream("GET", url, timeout=10) as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data:"))
    event = json.loads(first[5:])
    assert (event["lag"], event["lag_source"], event["total"]) == (0, "log", 20)


def test_pages_return_every_matching_vote_once_newest_first(
    counted: tuple[Settings, str, list],
) -> None:
    _, base, events = counted
    first_seen: dict[str, object] = {}
    for event in events:
        first_seen.setdefault(event.vote_id, event)
    everything = _all_votes(base, {}, limit=7)
    assert sorted(v["vote_id"] for v in everything) == sorted(first_seen)
    keys = [(datetime.fromisoformat(v["cast_at"]), v["event_id"]) for v in everything]
    assert keys == sorted(keys, reverse=True)

    band = events[0].band
    by_band = _all_votes(base, {"band": band}, limit=4)
    assert {v["vote_id"] for v in by_band} == {
        k
        for k, e in first_seen.items()
        if e.band == band  # type: ignore[attr-defined]
    }
    year = events[3].year
    assert all(v["year"] == year for v in _all_votes(base, {"year": str(year)}, limit=3))

    # BSON dates hold milliseconds: the stored times and the bounds are both truncated.
    times = sorted(_ms(e.cast_at) for e in first_seen.values())  # type: ignore[attr-defined]
    since, until = times[10], times[40]
    window = _all_votes(base, {"since": since.isoformat(), "until": until.isoformat()}, limit=5)
    expected = {
        k
        for k, e in first_seen.items()
        if since <= _ms(e.cast_at) < until  # type: ignore[attr-defined]
    }
    assert {v["vote_id"] for v in window} == expected
    assert len(expected) == 30

    one = httpx.get(f"{base}/api/v1/votes/{events[5].vote_id}")
    assert one.status_code == 200
    assert one.json()["band"] == first_seen[events[5].vote_id].band  # type: ignore[attr-defined]
    missing = httpx.get(f"{base}/api/v1/votes/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert "no counted vote" in missing.json()["detail"]


@pytest.mark.parametrize("params", HOSTILE, ids=lambda p: json.dumps(p)[:40])
def test_hostile_parameters_get_a_400_or_nothing(
    counted: tuple[Settings, str, list], params: dict[str, str]
) -> None:
    _, base, _ = counted
    response = httpx.get(f"{base}/api/v1/votes", params=params, timeout=10)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json() == {"votes": [], "next_cursor": None}
    else:
        assert response.json()["detail"]


def test_bad_vote_ids_and_unknown_result_params_are_400(served: tuple[Settings, str]) -> None:
    _, base = served
    assert httpx.get(f"{base}/api/v1/votes/not-a-uuid").status_code == 400
    assert httpx.get(f"{base}/api/v1/votes/{'a' * 5000}").status_code == 400
    assert httpx.get(f"{base}/api/v1/results", params={"x": "1"}).status_code == 400


def test_sse_sends_the_results_again_when_votes_are_counted(
    served: tuple[Settings, str],
) -> None:
    settings, base = served
    produce(settings, make_events(5))
    with (
        running_worker(settings, Model.tallies),
        httpx.stream("GET", f"{base}/api/v1/results/stream", timeout=30) as stream,
    ):
        totals: list[int] = []
        lines = stream.iter_lines()
        deadline = time.monotonic() + 30
        sent_more = False
        for line in lines:
            if line.startswith("data:"):
                totals.append(json.loads(line[5:])["total"])
                if totals[-1] == 5 and not sent_more:
                    produce(settings, make_events(7))
                    sent_more = True
                if totals[-1] == 12:
                    break
            assert time.monotonic() < deadline, f"no change arrived; saw {totals}"
    assert totals[-1] == 12
    assert 5 in totals


def test_health_readiness_schema_and_metrics(served: tuple[Settings, str]) -> None:
    _, base = served
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "mongo": "ok"}
    schema = httpx.get(f"{base}/schema/openapi.json").json()
    assert {
        "/api/v1/results",
        "/api/v1/contests",
        "/api/v1/contests/{contest}/results",
        "/api/v1/contests/{contest}/results/stream",
        "/api/v1/votes",
        "/api/v1/votes/{vote_id}",
    } <= set(schema["paths"])
    assert "boleta_queries" in httpx.get(f"{base}/metrics").text


def test_readyz_fails_when_redis_is_unreachable(isolated: Settings) -> None:
    settings = isolated.replace(
        query_port=free_port(), redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    with serving(settings) as base:
        ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("unreachable")
    assert ready.json()["checks"]["mongo"] == "ok"


def test_read_only(served: tuple[Settings, str]) -> None:
    _, base = served
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert httpx.request(method, f"{base}/api/v1/votes").status_code == 405
