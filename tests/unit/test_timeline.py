"""The audit log's timeline: paging it visits every matching vote once, newest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.timeline import (
    BLOCK,
    ENTRIES_FIELD,
    block_key,
    first_offset,
    is_new_block,
    timeline_change,
)
from queries.timeline import Positions, newest_first

START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
BANDS = ["Alux Nahual", "Bohemia Suburbana", "Viernes Verde"]


@st.composite
def partition_logs(draw: st.DrawFn, monotonic: bool) -> list[dict[str, Any]]:
    """Counted votes of up to 3 partitions, with gaps in the offsets (duplicates and
    poison messages are in the log but not counted). In cast order when ``monotonic``."""
    documents = []
    for partition in range(draw(st.integers(1, 3))):
        offsets = sorted(draw(st.sets(st.integers(0, 300), max_size=40)))
        at_ms = draw(st.integers(0, 10_000))
        for offset in offsets:
            at_ms = at_ms + draw(st.integers(0, 2_000)) if monotonic else draw(st.integers(0, 99))
            documents.append(
                {
                    "_id": f"{at_ms:08d}-{partition}-{offset:04d}",  # time-ordered, like UUIDv7
                    "vote_id": f"vote-{partition}-{offset}",
                    "contest": "main",
                    "rank": 1,
                    "band": draw(st.sampled_from(BANDS)),
                    "album": "A",
                    "year": 2008,
                    "cast_at": START + timedelta(milliseconds=at_ms),
                    "partition": partition,
                    "offset": offset,
                }
            )
    return documents


def store_of(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The timeline's documents as the sink's upserts leave them."""
    return {
        key: {"_id": key, ENTRIES_FIELD: entries}
        for key, entries in timeline_change(documents).items()
    }


def top_of(documents: list[dict[str, Any]]) -> Positions:
    top: Positions = {}
    for doc in documents:
        top[doc["partition"]] = max(top.get(doc["partition"], 0), doc["offset"] + 1)
    return top


async def read_all(
    documents: list[dict[str, Any]], matches: Any, limit: int, budget: int, since: Any = None
) -> list[str]:
    store = store_of(documents)

    async def fetch(keys: list[str]) -> dict[str, dict[str, Any]]:
        return {k: store[k] for k in keys if k in store}

    seen: list[str] = []
    positions: Positions | None = top_of(documents)
    pages = 0
    while positions is not None:
        entries, positions = await newest_first(fetch, matches, limit, positions, since, budget)
        assert len(entries) <= limit
        seen += [e["i"] for e in entries]
        pages += 1
        assert pages < 2_000, "paging does not end"
    return seen


@settings(max_examples=150, deadline=None)
@given(
    documents=partition_logs(monotonic=True),
    band=st.none() | st.sampled_from([*BANDS[:2], "nobody"]),
    limit=st.integers(1, 7),
    budget=st.integers(1, 6),
    since_s=st.none() | st.integers(0, 60),
)
def test_paging_visits_every_matching_vote_once_newest_first(
    documents: list[dict[str, Any]],
    band: str | None,
    limit: int,
    budget: int,
    since_s: int | None,
) -> None:
    since = START + timedelta(seconds=since_s) if since_s is not None else None

    def matches(entry: dict[str, Any]) -> bool:
        return (band is None or entry["b"] == band) and (since is None or entry["t"] >= since)

    expected = [
        d["_id"]
        for d in sorted(documents, key=lambda d: (d["cast_at"], d["_id"]), reverse=True)
        if (band is None or d["band"] == band) and (since is None or d["cast_at"] >= since)
    ]
    assert asyncio.run(read_all(documents, matches, limit, budget, since)) == expected


@settings(max_examples=100, deadline=None)
@given(documents=partition_logs(monotonic=False), limit=st.integers(1, 5))
def test_paging_visits_every_vote_once_whatever_the_clocks_did(
    documents: list[dict[str, Any]], limit: int
) -> None:
    seen = asyncio.run(read_all(documents, lambda _e: True, limit, budget=3))
    assert sorted(seen) == sorted(d["_id"] for d in documents)


def test_a_full_last_page_has_no_cursor_and_an_empty_log_is_one_empty_page() -> None:
    documents = [
        {
            "_id": f"e{i}",
            "vote_id": f"v{i}",
            "contest": "main",
            "rank": 1,
            "band": "B",
            "album": "A",
            "year": 2008,
            "cast_at": START + timedelta(seconds=i),
            "partition": 0,
            "offset": i,
        }
        for i in range(4)
    ]
    store = store_of(documents)

    async def fetch(keys: list[str]) -> dict[str, dict[str, Any]]:
        return {k: store[k] for k in keys if k in store}

    entries, resume = asyncio.run(newest_first(fetch, lambda _e: True, 4, {0: 4}))
    assert ([e["i"] for e in entries], resume) == (["e3", "e2", "e1", "e0"], None)
    entries, resume = asyncio.run(newest_first(fetch, lambda _e: True, 3, {0: 4}))
    assert ([e["i"] for e in entries], resume) == (["e3", "e2", "e1"], {0: 1})
    assert asyncio.run(newest_first(fetch, lambda _e: True, 3, {})) == ([], None)


@given(
    partition=st.integers(0, 5),
    offset=st.integers(0, 10_000),
    checkpoints=st.dictionaries(st.integers(0, 5), st.integers(-1, 10_000), max_size=6),
)
def test_a_block_is_new_only_when_every_offset_in_it_is_past_the_checkpoint(
    partition: int, offset: int, checkpoints: dict[int, int]
) -> None:
    key = block_key(partition, offset)
    assert first_offset(key)[0] == partition
    assert first_offset(key)[1] <= offset < first_offset(key)[1] + BLOCK
    applied = checkpoints.get(partition, -1)
    assert is_new_block(key, checkpoints) == (first_offset(key)[1] > applied)
    if offset <= applied:  # an applied batch may have written this offset's entry
        assert not is_new_block(key, checkpoints)
