"""Results as of a moment on the real broker: votes appended by the command side's own
Kafka adapter, with the clocks of several command processes up to the allowed skew apart;
the replay bounded by offsets-for-times equals a fold of the whole log restricted to the
votes cast by then, and, past the last vote, the live tallies the worker keeps in Redis."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from confluent_kafka import Producer
from rich.console import Console
from typer.testing import CliRunner

from boleta import cli, ops
from boleta.serve_commands import build_vote_log
from boleta.serve_projections import Model
from boleta.settings import Settings
from commands.handler import new_event_id
from commands.ports import Appended
from domain import VoteCast, vote_cast_codec
from domain.asof import ReplayTooLongError, timestamp_ms
from domain.projection import ContestTally, TallyView
from projections.asof import prefix_end, tallies_as_of
from projections.log_reader import end_offsets, replay, replay_consumer
from projections.redis_sink import RedisTallies
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker, wait_for

CONTESTS = ("main", "best-album")
BANDS = ("Mayfield", "Green Ridge", "Norrtälje")


def skewed_votes(count: int, start: datetime, rng: random.Random) -> list[VoteCast]:
    """Votes in append order, each cast 0-4.9 s after its true time on a skewed clock (so
    cast order and log order disagree by up to the allowed skew); one in five is a retry
    of an earlier vote_id, maybe naming another band or contest."""
    events: list[VoteCast] = []
    for i in range(count):
        cast_at = start + timedelta(milliseconds=40 * i + rng.randrange(4900))
        vote_id = str(uuid.uuid4())
        if events and rng.randrange(5) == 0:
            vote_id = rng.choice(events).vote_id
        events.append(
            VoteCast(
                event_id=new_event_id(cast_at),
                vote_id=vote_id,
                contest=rng.choice(CONTESTS),
                band=rng.choice(BANDS),
                album=f"Album {rng.randrange(3)}",
                year=2001,
                rank=1,
                cast_at=cast_at,
            )
        )
    return events


def append(settings: Settings, events: list[VoteCast]) -> None:
    async def run() -> None:
        log = build_vote_log(settings)
        try:
            results = await log.append(events, 30)
            assert all(isinstance(r, Appended) for r in results), results[:3]
        finally:
            await log.close()

    asyncio.run(run())


@pytest.fixture
def consumer(isolated: Settings) -> Iterator[Any]:
    c = replay_consumer(isolated.kafka_bootstrap, "test-asof")
    yield c
    c.close()


def whole_log_as_of(settings: Settings, as_of: datetime) -> TallyView:
    """The oracle: every message of the log folded with the live laws, as of ``as_of``."""
    consumer = replay_consumer(settings.kafka_bootstrap, "test-asof-whole")
    try:
        view = TallyView(as_of=as_of)
        ends = end_offsets(consumer, settings.topic)
        for batch in replay(consumer, settings.topic, vote_cast_codec(), ends):
            view.apply(batch)
        return view
    finally:
        consumer.close()


def counted_by_hand(events: list[VoteCast], as_of: datetime) -> Counter[tuple[str, str]]:
    """Votes per (contest, band): the first event of each vote_id, if cast by ``as_of``."""
    first: dict[str, VoteCast] = {}
    for event in events:
        first.setdefault(event.vote_id, event)
    return Counter((e.contest, e.band) for e in first.values() if e.cast_at <= as_of)


def per_band(view: TallyView) -> Counter[tuple[str, str]]:
    """Votes per (contest, band as shown): counted by key, shown as first spelled (the
    votes here spell each band one way)."""
    return Counter(
        {
            (c, band): n
            for c, tally in view.contests.items()
            for band, n in shown_bands(tally).items()
        }
    )


def shown_bands(tally: ContestTally) -> dict[str, int]:
    """A contest's votes per band as shown: under each band key's spelling."""
    names = tally.shown_names()
    return {names[band]: n for band, n in tally.bands.items() if n}


def tallies(summary: dict[str, Any]) -> dict[str, Any]:
    return {"contests": summary["contests"], "total": summary["total"]}


def test_as_of_answers_equal_a_fold_of_the_log_and_the_live_tallies(
    isolated: Settings, consumer: Any
) -> None:
    rng = random.Random(14)
    start = datetime.now(UTC) - timedelta(seconds=70)
    events = skewed_votes(1500, start, rng)  # cast over 65 s
    append(isolated, events[:700])
    poison = Producer({"bootstrap.servers": isolated.kafka_bootstrap})
    for partition in range(3):  # stamped as if produced among the votes around it
        poison.produce(
            isolated.topic,
            value=b"not json",
            partition=partition,
            headers=[("event_type", b"VoteCast")],
            timestamp=timestamp_ms(events[699].cast_at),
        )
    assert poison.flush(30) == 0
    append(isolated, events[700:])
    casts = sorted(e.cast_at for e in events)
    moments = [
        casts[0] - timedelta(microseconds=1),
        *(rng.choice(casts) + timedelta(microseconds=d) for d in (-1, 0, 1, 0, 0, 1)),
        casts[len(casts) // 2],
        casts[-1],
    ]
    ends = end_offsets(consumer, isolated.topic)
    for as_of in moments:
        began = time.monotonic()
        view = ops.results_as_of(isolated, as_of, 30)
        took = time.monotonic() - began
        oracle = whole_log_as_of(isolated, as_of)
        assert tallies(view.summary()) == tallies(oracle.summary()), as_of
        assert per_band(view) == counted_by_hand(events, as_of), as_of
        read = sum(view.checkpoints.get(p, -1) + 1 for p in ends)
        print(f"as_of {as_of.isoformat()}: read {read} of {sum(ends.values())} in {took:.2f}s")
        if as_of + 3 * timedelta(milliseconds=isolated.cast_order_slack_ms) < casts[-1]:
            assert read < sum(ends.values()), "the replay read past its bound"
    first = ops.results_as_of(isolated, casts[0], 30)
    # The first vote's moment plus the 21 s slack of the default settings: well under half
    # of the 65 s the votes span.
    assert sum(first.checkpoints.values()) < sum(ends.values()) / 2, "not bounded by time"

    with running_worker(isolated, Model.tallies):
        live = RedisTallies(redis.Redis.from_url(isolated.redis_url), tag=isolated.tallies_tag)
        wait_for(lambda: live.snapshot()["checkpoints"] == {p: e - 1 for p, e in ends.items()})
        after_all = ops.results_as_of(isolated, casts[-1], 30)
        assert tallies(after_all.summary()) == tallies(live.snapshot())
        assert after_all.total == len({e.vote_id for e in events})


def test_prefix_end_stops_at_the_first_message_stamped_past_the_bound(
    isolated: Settings, consumer: Any
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = skewed_votes(60, start, random.Random(3))
    append(isolated, events)
    ends = end_offsets(consumer, isolated.topic)
    slack = timedelta(milliseconds=isolated.cast_order_slack_ms)
    assert prefix_end(consumer, isolated.topic, start - timedelta(minutes=1), slack, 10) == {
        p: 0 for p in ends
    }
    assert prefix_end(consumer, isolated.topic, start + timedelta(hours=1), slack, 10) == ends


def test_a_replay_longer_than_allowed_is_refused_before_reading(
    isolated: Settings, consumer: Any
) -> None:
    events = skewed_votes(50, datetime.now(UTC) - timedelta(minutes=1), random.Random(5))
    append(isolated, events)
    with pytest.raises(ReplayTooLongError, match="50 events"):
        tallies_as_of(
            consumer,
            isolated.topic,
            vote_cast_codec(),
            datetime.now(UTC),
            timedelta(milliseconds=isolated.cast_order_slack_ms),
            10,
            max_events=49,
        )
    assert consumer.assignment() == []


def test_the_endpoint_and_the_cli_answer_as_of_a_moment(
    isolated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated.replace(query_port=free_port())
    rng = random.Random(7)
    events = skewed_votes(400, datetime.now(UTC) - timedelta(seconds=60), rng)
    append(settings, events)
    casts = sorted(e.cast_at for e in events)
    with serving(settings) as base:
        url = f"{base}/api/v1/contests/main/results"
        for as_of in (casts[0], rng.choice(casts), casts[len(casts) // 2], casts[-1]):
            expected = whole_log_as_of(settings, as_of)
            body = httpx.get(url, params={"as_of": as_of.isoformat()}, timeout=30).json()
            main = expected.contests.get("main", ContestTally())
            # The same names as the live results: counted by key, shown as first spelled.
            assert {b["band"]: b["votes"] for b in body["bands"]} == shown_bands(main)
            assert body["total"] == main.total
            assert datetime.fromisoformat(body["as_of"]) == as_of
            assert (body["lag"], body["contest"], body["status"]) == (0, "main", "open")
            assert body["final"] is True  # cast over 39 s ago: no such vote can still arrive
            albums = {
                (b["band"], a["album"]): a["votes"] for b in body["bands"] for a in b["albums"]
            }
            assert sum(albums.values()) == main.total

        recent = datetime.now(UTC) - timedelta(seconds=1)
        body = httpx.get(url, params={"as_of": recent.isoformat()}, timeout=30).json()
        fresh = whole_log_as_of(settings, recent).contests.get("main", ContestTally()).total
        assert (body["final"], body["total"]) == (False, fresh)

        for value, status, reason in (
            ("yesterday", 400, "as_of: 'yesterday' is not an RFC 3339 date-time"),
            ("2026-11-30T20:00:00", 400, "has no time zone"),
            ("1900-01-01T00:00:00Z", 400, "is before 1970-01-01T00:00:00Z"),
            ("2999-01-01T00:00:00Z", 404, "in the future"),  # no results as of it yet
        ):
            refused = httpx.get(url, params={"as_of": value})
            assert refused.status_code == status, value
            assert reason in refused.json()["detail"], refused.text
        assert (
            httpx.get(f"{base}/api/v1/contests/nope/results?as_of=2026-01-01T00:00:00Z").status_code
            == 404
        )

    # boleta results --as-of, through the CLI with this test's topic
    monkeypatch.setenv("BOLETA_TOPIC", settings.topic)
    as_of = casts[len(casts) // 3]
    out = CliRunner().invoke(cli.app, ["results", "--as-of", as_of.isoformat(), "--json"])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    tally = whole_log_as_of(settings, as_of).contests.get("main", ContestTally())
    assert (printed["total"], printed["bands"]) == (tally.total, shown_bands(tally))
    assert printed["as_of"] == as_of.isoformat()


def test_a_closed_contests_results_are_its_results_as_of_the_close(
    isolated: Settings, tmp_path: Path
) -> None:
    """Votes cast after the close reached the log (a command process's clock behind): no
    read model counts them, and the live results equal the results as of the close."""
    events = skewed_votes(600, datetime.now(UTC) - timedelta(seconds=60), random.Random(9))
    casts = sorted(e.cast_at for e in events)
    close = casts[len(casts) // 2]
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            {"contests": [{"slug": "main"}, {"slug": "best-album", "closes_at": close.isoformat()}]}
        )
    )
    settings = isolated.replace(query_port=free_port(), catalog_file=str(path))
    append(settings, events)
    kept = [e for e in events if not (e.contest == "best-album" and e.cast_at >= close)]
    expected = counted_by_hand(kept, casts[-1])
    assert len(kept) < len(events) - 100
    with (
        serving(settings) as base,
        running_worker(settings, Model.tallies),
        running_worker(settings, Model.audit),
    ):
        url = f"{base}/api/v1/contests/best-album/results"

        def counted() -> bool:
            body = httpx.get(url).json()
            return bool(body["total"]) and body["total"] == sum(
                n for (c, _), n in expected.items() if c == "best-album"
            )

        wait_for(counted, 60, "the closed contest's tallies")
        live = httpx.get(url).json()
        at_close = httpx.get(url, params={"as_of": close.isoformat()}).json()
        later = httpx.get(url, params={"as_of": casts[-1].isoformat()}).json()
        assert live["status"] == at_close["status"] == "closed"
        for answer in (at_close, later):
            assert (answer["bands"], answer["total"]) == (live["bands"], live["total"])
        assert {b["band"]: b["votes"] for b in live["bands"]} == {
            band: n for (c, band), n in expected.items() if c == "best-album"
        }
        report = ops.verify(settings, Console(quiet=True), wait_s=60)
        assert report.ok, report.differences
        assert report.facts["audit_documents"] == sum(expected.values())
