"""Which cast_at a vote has, on the real Kafka, Redis and FerretDB (ADR 4, "Which cast_at a
vote has"): its first event's in log order, in whole milliseconds, the same on every read
path: the audit API's pages and vote lookups, ``since``/``until``, ``as_of`` and the tallies.

This is the clock-skew chaos rows' old failure made deterministic. A command service
stamped microseconds; the audit log (BSON dates) kept only the milliseconds; so a window's
edge inside a vote's millisecond put the vote on one side for the log and on the other for
the audit API. The chaos load paces its batches on a regular schedule, so its windows' edges
fell within a few milliseconds of a batch's cast_at, and one batch (40 votes) now and then
landed inside the gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from confluent_kafka import Producer

from boleta import ops
from boleta.serve_projections import Model
from boleta.settings import Settings
from domain import VoteCast, vote_cast_codec
from domain.asof import timestamp_ms
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port, read_all
from tests.integration.projection_helpers import running_worker, wait_for

# Long enough ago that results as of these moments are final, on a whole second.
START = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
US = timedelta(microseconds=1)
MS = timedelta(milliseconds=1)


def stamped(n: int, vote_id: str, at: datetime) -> bytes:
    """An event as a command service that stamped microseconds wrote it (a VoteCast rounds
    its own cast_at down, so the wire form is written from its fields)."""
    event = VoteCast(
        event_id=f"01939a00-0000-7000-8000-{n:012d}",
        vote_id=vote_id,
        contest="main",
        band=("Mayfield", "Lien")[n % 2],
        album="A",
        year=2008,
        rank=1,
        cast_at=at,
    )
    return msgspec.json.encode({**msgspec.structs.asdict(event), "cast_at": at})


# (vote_id, cast_at) in log order, microseconds as an older command service stamped them.
# The vote EDGE_VOTE is cast twice: first 0.6 ms into a millisecond, then retried 5 s later.
EDGE = START + timedelta(seconds=2)
EDGE_VOTE = "00000000-0000-4000-8000-00000000000e"
LOG = [
    ("00000000-0000-4000-8000-00000000000b", START + 250_300 * US),
    (EDGE_VOTE, EDGE + 600 * US),
    ("00000000-0000-4000-8000-00000000000a", EDGE + 1 * MS + 100 * US),
    (EDGE_VOTE, EDGE + timedelta(seconds=5) + 300 * US),
    ("00000000-0000-4000-8000-00000000000c", EDGE + timedelta(seconds=6) + 999 * US),
]


@pytest.fixture
def written(isolated: Settings) -> Iterator[tuple[Settings, str]]:
    settings = isolated.replace(query_port=free_port())
    codec = vote_cast_codec()
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for n, (vote_id, at) in enumerate(LOG):
        producer.produce(
            settings.topic,
            key=vote_id.encode(),
            value=stamped(n, vote_id, at),
            headers=codec.headers,
            timestamp=timestamp_ms(at),
        )
    assert producer.flush(30) == 0
    votes = len({vote_id for vote_id, _ in LOG})
    with (
        serving(settings) as base,
        running_worker(settings, Model.tallies),
        running_worker(settings, Model.audit),
    ):
        wait_for(lambda: pages(base, {}) and len(pages(base, {})) == votes, 60, "the audit log")
        wait_for(lambda: httpx.get(f"{base}/api/v1/results").json()["total"] == votes, 60, "")
        yield settings, base


def pages(base: str, params: dict[str, str]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    cursor = None
    while True:
        query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
        reply = httpx.get(f"{base}/api/v1/votes", params=query, timeout=30)
        assert reply.status_code == 200, reply.text
        found += reply.json()["votes"]
        cursor = reply.json()["next_cursor"]
        if cursor is None:
            return found


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def the_votes(settings: Settings) -> dict[str, VoteCast]:
    """vote_id -> its first event in log order, as the domain reads it."""
    codec = vote_cast_codec()
    first: dict[str, VoteCast] = {}
    for msg in sorted(read_all(settings, settings.topic), key=lambda m: m.offset() or 0):
        event = codec.decode(msg.value(), dict(msg.headers() or []))
        first.setdefault(event.vote_id, event)
    return first


def test_a_vote_has_one_cast_at_on_every_read_path(written: tuple[Settings, str]) -> None:
    settings, base = written
    votes = the_votes(settings)
    shown = {v["vote_id"]: datetime.fromisoformat(v["cast_at"]) for v in pages(base, {})}
    assert shown == {v: e.cast_at for v, e in votes.items()}, "the audit API and the log"
    assert votes[EDGE_VOTE].cast_at == EDGE, "the first event's, rounded down to the millisecond"
    looked_up = httpx.get(f"{base}/api/v1/votes/{EDGE_VOTE}", timeout=30).json()
    assert datetime.fromisoformat(looked_up["cast_at"]) == EDGE

    # Edges inside the millisecond of EDGE_VOTE and of the next vote, on them, around the retry.
    edges = [EDGE, EDGE + 300 * US, EDGE + 600 * US, EDGE + 999 * US, EDGE + MS + 50 * US]
    edges += [EDGE + timedelta(seconds=5) + d * US for d in (0, 300, 500)]
    for edge in edges:
        since = {v["vote_id"] for v in pages(base, {"since": rfc3339(edge)})}
        until = {v["vote_id"] for v in pages(base, {"until": rfc3339(edge)})}
        assert since == {v for v, e in votes.items() if e.cast_at >= edge}, f"since {edge}"
        assert until == {v for v, e in votes.items() if e.cast_at < edge}, f"until {edge}"
        as_of = ops.results_as_of(settings, edge, 30)
        assert as_of.total == sum(e.cast_at <= edge for e in votes.values()), f"as_of {edge}"
