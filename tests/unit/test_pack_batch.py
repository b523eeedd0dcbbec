"""The tallies script's packed batch names every message's partition, offset, vote, event
id, contest and tally keys exactly (projections/redis_sink.pack_batch; tallies.lua reads it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from domain.names import name_key
from domain.projection import Delivered, cast_second, voter_of
from domain.readmodel import album_field
from domain.votes import VoteCast
from projections.redis_sink import pack_batch
from tests.unit.test_projection_laws import logs
from tests.unit.test_voter_laws import voter_logs


def unpacked(contests: list[str], packed: bytes) -> list[tuple[Any, ...]]:
    order, names, messages, _, spellings, event_ids, _ = msgspec.msgpack.decode(packed)
    assert order == contests
    quads = [
        (order[names[i] - 1], names[i + 1], names[i + 2], names[i + 3])
        for i in range(0, len(names), 4)
    ]
    cast = [tuple(spellings[i : i + 2]) for i in range(0, len(spellings), 2)]
    assert len(cast) == len(quads)
    assert len(event_ids) == len(messages) // 4
    rows = []
    for i in range(0, len(messages), 4):
        partition, offset, vote_id, k = messages[i : i + 4]
        rows.append(
            (
                partition,
                offset,
                vote_id,
                event_ids[i // 4],
                quads[k - 1] if k else None,
                cast[k - 1] if k else None,
            )
        )
    return rows


@given(logs())
def test_the_packed_batch_holds_every_message_in_order(log: dict) -> None:
    batch = [Delivered(p, o, e) for p, events in log.items() for o, e in enumerate(events)]
    expected = []
    for d in batch:
        if d.event is None:
            expected.append((d.partition, d.offset, "", "", None, None))
            continue
        band = name_key(d.event.band)
        expected.append(
            (
                d.partition,
                d.offset,
                d.event.vote_id,
                d.event.event_id,
                (
                    d.event.contest,
                    band,
                    album_field(band, name_key(d.event.album)),
                    cast_second(d.event),
                ),
                (d.event.band, d.event.album),
            )
        )
    assert unpacked(*pack_batch(batch)) == expected


@given(logs())
def test_each_distinct_contest_band_album_and_instant_is_packed_once(log: dict) -> None:
    batch = [Delivered(p, o, e) for p, events in log.items() for o, e in enumerate(events)]
    contests, packed = pack_batch(batch)
    order, names, _, _, spellings, _, _ = msgspec.msgpack.decode(packed)
    distinct = {
        (d.event.contest, d.event.band, d.event.album, d.event.cast_at) for d in batch if d.event
    }
    assert len(names) == 4 * len(distinct)
    assert len(spellings) == 2 * len(distinct)
    assert sorted(order) == sorted({d.event.contest for d in batch if d.event}) == sorted(contests)


@given(voter_logs())
def test_the_packed_voters_name_each_vote_under_one_vote_per_voter_and_its_voter(
    log: dict,
) -> None:
    batch = [Delivered(p, o, e) for p, events in log.items() for o, e in enumerate(events)]
    _, packed = pack_batch(batch)
    _, _, _, voters, _, _, _ = msgspec.msgpack.decode(packed)
    pairs = [(voters[i], voters[i + 1]) for i in range(0, len(voters), 2)]
    assert pairs == [
        (m, voter_of(d.event))
        for m, d in enumerate(batch, start=1)
        if d.event and voter_of(d.event) is not None
    ]


@given(logs(), st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=30))
def test_the_packed_ranks_order_the_event_ids_as_their_bytes_do(
    log: dict, event_ids: list[str | None]
) -> None:
    """tallies.lua finds a name's least event_id in the batch by these ranks: they must
    order the ids as Redis compares strings (bytewise), equal ids equal ranks."""
    batch = [Delivered(p, o, e) for p, events in log.items() for o, e in enumerate(events)]
    vote = VoteCast(
        event_id="e",
        vote_id="v",
        contest="main",
        band="Band",
        album="Album",
        year=2000,
        rank=1,
        cast_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    batch += [
        Delivered(9, o, None if e is None else msgspec.structs.replace(vote, event_id=e))
        for o, e in enumerate(event_ids)
    ]
    _, packed = pack_batch(batch)
    *_, ids, ranks = msgspec.msgpack.decode(packed)
    assert len(ranks) == len(ids) == len(batch)
    for a, rank_a in zip(ids, ranks, strict=True):
        for b, rank_b in zip(ids, ranks, strict=True):
            assert (rank_a < rank_b) == (a.encode() < b.encode())
            assert (rank_a == rank_b) == (a == b)
