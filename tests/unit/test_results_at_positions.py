"""Results at positions of the log (``?positions=``): the parameter's pattern, as the schema
states it, is exactly what the parser accepts, every refusal names the field and what it
accepts; and the service replays a prefix once and keeps it (a prefix never changes),
refusing a future as_of without a replay. The replay here folds an in-memory log (the
real one is tested on the broker: tests/integration/test_board_recount.py)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.projection import Delivered, TallyView, fold
from domain.votes import VoteCast
from queries.inputs import (
    MAX_POSITIONS,
    POSITIONS_PATTERN,
    InputError,
    NotYetError,
    decode_positions,
    encode_positions,
)
from queries.positions import ResultsAtPositions

START = datetime(2026, 11, 30, 20, tzinfo=UTC)
partitions = st.integers(0, 999_999)
ends = st.integers(0, 10**18 - 1)


@given(st.dictionaries(partitions, ends, min_size=1, max_size=MAX_POSITIONS))
def test_positions_round_trip_through_the_schema_s_pattern(named: dict[int, int]) -> None:
    text = encode_positions(named)
    assert re.fullmatch(POSITIONS_PATTERN, text)
    assert decode_positions(text) == {p: e for p, e in named.items() if e > 0}


@given(st.from_regex(POSITIONS_PATTERN, fullmatch=True))
def test_every_text_of_the_pattern_is_a_prefix_of_the_log(text: str) -> None:
    found = decode_positions(text)
    pairs = [tuple(int(n) for n in pair.split(":")) for pair in text.split(",")]
    for partition in {p for p, _ in pairs}:  # a partition named twice: its lower end
        assert found.get(partition, 0) == min(e for p, e in pairs if p == partition)
    assert all(end > 0 for end in found.values())


@given(st.text(max_size=40))
def test_any_other_text_is_refused_naming_the_field_and_the_form(text: str) -> None:
    if re.fullmatch(POSITIONS_PATTERN, text):
        return
    with pytest.raises(InputError) as refused:
        decode_positions(text)
    assert refused.value.field == "positions"
    assert "<partition>:<end> pairs joined by commas" in refused.value.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "0:",
        ":5",
        "-1:5",
        "0:-5",
        "0:1;1:2",
        "0:1,",
        "0:1 ,1:2",
        "0=1",
        "1234567:1",
        "0:1234567890123456789",
        "0:1.5",
        ",".join(f"{p}:1" for p in range(MAX_POSITIONS + 1)),
    ],
)
def test_positions_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"positions: .* is not a list of positions; accepted"):
        decode_positions(text)


def vote(i: int) -> VoteCast:
    return VoteCast(
        event_id=str(uuid.UUID(int=(1 << 127) | i)),
        vote_id=str(uuid.UUID(int=i)),
        contest="main",
        band="Mayfield" if i % 3 else "Lien",
        album="A",
        year=2000,
        rank=1,
        cast_at=START + timedelta(seconds=i),
    )


LOG = {p: [Delivered(p, i, vote(100 * p + i)) for i in range(50)] for p in range(3)}


class Replays:
    def __init__(self) -> None:
        self.asked: list[tuple[dict[int, int], datetime | None]] = []

    def __call__(self, ends: dict[int, int], as_of: datetime | None, timeout_s: float) -> TallyView:
        assert timeout_s > 0
        self.asked.append((ends, as_of))
        return fold([[d for d in LOG[p] if d.offset < end] for p, end in ends.items()], as_of)


def test_a_prefix_is_replayed_once_and_its_results_kept() -> None:
    replay = Replays()
    results = ResultsAtPositions(replay, 2.0, clock=lambda: START + timedelta(hours=1))

    async def run() -> None:
        first = await results.snapshot({0: 10, 2: 31})
        assert first.final
        assert first.contests["main"].total == 10 + 31
        assert first.checkpoints == {0: 9, 2: 30}
        again = await results.snapshot({2: 31, 0: 10})
        assert again is first
        assert len(replay.asked) == 1
        as_of = START + timedelta(seconds=5)
        earlier = await results.snapshot({0: 10, 2: 31}, as_of)
        assert earlier.contests["main"].total == 6  # cast at seconds 0 to 5 of partition 0
        assert len(replay.asked) == 2

    asyncio.run(run())


def test_a_future_as_of_is_refused_without_a_replay() -> None:
    replay = Replays()
    results = ResultsAtPositions(replay, 2.0, clock=lambda: START)
    with pytest.raises(NotYetError, match="in the future"):
        asyncio.run(results.snapshot({0: 1}, START + timedelta(seconds=1)))
    assert replay.asked == []
