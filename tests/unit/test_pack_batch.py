"""The tallies script's packed batch names every message's partition, offset, vote, event
id and tally keys exactly (projections/redis_sink.pack_batch; tallies.lua reads it)."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given

from domain.names import name_key
from domain.projection import Delivered, cast_second
from domain.readmodel import album_field
from projections.redis_sink import pack_batch
from tests.unit.test_projection_laws import logs


def unpacked(packed: bytes) -> list[tuple[Any, ...]]:
    names, messages, spellings, event_ids = msgspec.msgpack.decode(packed)
    triples = [tuple(names[i : i + 3]) for i in range(0, len(names), 3)]
    cast = [tuple(spellings[i : i + 2]) for i in range(0, len(spellings), 2)]
    assert len(cast) == len(triples)
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
                triples[k - 1] if k else None,
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
                (band, album_field(band, name_key(d.event.album)), cast_second(d.event)),
                (d.event.band, d.event.album),
            )
        )
    assert unpacked(pack_batch(batch)) == expected


@given(logs())
def test_each_distinct_band_album_and_instant_is_packed_once(log: dict) -> None:
    batch = [Delivered(p, o, e) for p, events in log.items() for o, e in enumerate(events)]
    names, _, _, _ = msgspec.msgpack.decode(pack_batch(batch))
    distinct = {(d.event.band, d.event.album, d.event.cast_at) for d in batch if d.event}
    assert len(names) == 3 * len(distinct)
