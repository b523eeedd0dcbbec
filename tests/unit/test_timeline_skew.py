"""Audit pages when command processes' clocks disagree: within the slack (clock skew plus
the time a stamped vote takes to reach the log) every filter is exact and pages are newest
first up to the slack; beyond it paging still visits every vote once, and only ``since``
may miss a vote (the bound is load-bearing, so the docs and the settings state it)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boleta import serve_commands
from boleta.foreground import clock_note
from boleta.settings import QUEUE_WAIT_MS, Settings, SettingsError, load
from commands.handler import utc_now
from commands.kafka_log import BUFFER_WAIT_S
from queries.timeline import SLACK, Positions, newest_first
from queries.votes import VoteFilter, matcher
from tests.unit.test_timeline import BANDS, START, store_of, top_of


def max_inversion(cast_at: list[datetime]) -> timedelta:
    """How far a newest-first sequence goes back in time: the most any entry is newer
    than one listed before it (zero when it is in order)."""
    worst, oldest = timedelta(0), None
    for at in cast_at:
        if oldest is not None:
            worst = max(worst, at - oldest)
        oldest = at if oldest is None else min(oldest, at)
    return worst


@st.composite
def skewed_logs(draw: st.DrawFn, skew_ms: int, delay_ms: int) -> list[dict[str, Any]]:
    """Counted votes of up to 3 partitions as up to 3 command processes append them: each
    process's clock is off by 0 to ``skew_ms`` (so two differ by at most ``skew_ms``), and
    a vote reaches the log 0 to ``delay_ms`` after it was stamped."""
    offsets_ms = draw(st.lists(st.integers(0, skew_ms), min_size=1, max_size=3))
    documents = []
    for partition in range(draw(st.integers(1, 3))):
        appended_ms = draw(st.integers(0, 30_000))
        for offset in sorted(draw(st.sets(st.integers(0, 300), max_size=40))):
            appended_ms += draw(st.integers(0, 3_000))
            stamped_ms = appended_ms - draw(st.integers(0, delay_ms))
            at_ms = stamped_ms + draw(st.sampled_from(offsets_ms))
            documents.append(
                {
                    "_id": f"{at_ms:08d}-{partition}-{offset:04d}",
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


async def pages(
    documents: list[dict[str, Any]], flt: VoteFilter, limit: int, slack: timedelta
) -> list[dict[str, Any]]:
    store = store_of(documents)

    async def fetch(keys: list[str]) -> dict[str, dict[str, Any]]:
        return {k: store[k] for k in keys if k in store}

    seen: list[dict[str, Any]] = []
    positions: Positions | None = top_of(documents)
    while positions is not None:
        entries, positions = await newest_first(
            fetch, matcher(flt), limit, positions, flt.since, budget=4, slack=slack
        )
        seen += entries
    return seen


def at(seconds: int | None) -> datetime | None:
    return None if seconds is None else START + timedelta(seconds=seconds)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    skew_s=st.integers(0, 10),
    delay_s=st.integers(0, 11),
    band=st.none() | st.sampled_from(BANDS[:2]),
    since_s=st.none() | st.integers(0, 120),
    until_s=st.none() | st.integers(0, 120),
    limit=st.integers(1, 7),
)
def test_within_the_slack_every_filter_is_exact_and_pages_are_newest_first_up_to_it(
    data: st.DataObject,
    skew_s: int,
    delay_s: int,
    band: str | None,
    since_s: int | None,
    until_s: int | None,
    limit: int,
) -> None:
    documents = data.draw(skewed_logs(skew_s * 1000, delay_s * 1000))
    slack = timedelta(seconds=skew_s + delay_s)
    flt = VoteFilter(band=band, since=at(since_s), until=at(until_s))
    seen = asyncio.run(pages(documents, flt, limit, slack))
    expected = [d for d in documents if matcher(flt)(to_entry(d))]
    assert sorted(e["i"] for e in seen) == sorted(d["_id"] for d in expected)
    assert max_inversion([e["t"] for e in seen]) <= slack


def to_entry(document: dict[str, Any]) -> dict[str, Any]:
    return {"b": document["band"], "a": document["album"], "y": 2008, "t": document["cast_at"]}


@settings(max_examples=100, deadline=None)
@given(data=st.data(), limit=st.integers(1, 5))
def test_beyond_the_slack_paging_still_visits_every_vote_once(
    data: st.DataObject, limit: int
) -> None:
    documents = data.draw(skewed_logs(60_000, 30_000))  # far past the 21 s default slack
    seen = asyncio.run(pages(documents, VoteFilter(), limit, SLACK))
    assert sorted(e["i"] for e in seen) == sorted(d["_id"] for d in documents)


def test_beyond_the_slack_since_can_miss_a_vote() -> None:
    """A clock 25 s fast (past the 21 s default slack): the vote stamped by it sits below a
    vote from a correct clock that is older than ``since`` by more than the slack, so the
    reading stops before it. This is why the bound is stated and kept by NTP/chrony."""
    fast, correct = START + timedelta(seconds=25), START
    documents = [
        {"_id": "fast", "vote_id": "a", "contest": "main", "rank": 1, "band": "B",
         "album": "A", "year": 2008, "cast_at": fast, "partition": 0, "offset": 0},
        {"_id": "correct", "vote_id": "b", "contest": "main", "rank": 1, "band": "B",
         "album": "A", "year": 2008, "cast_at": correct, "partition": 0, "offset": 1},
    ]  # fmt: skip
    since = START + timedelta(seconds=22)
    assert asyncio.run(pages(documents, VoteFilter(since=since), 5, SLACK)) == []
    wide = asyncio.run(pages(documents, VoteFilter(since=since), 5, timedelta(seconds=25)))
    assert [e["i"] for e in wide] == ["fast"]


def test_the_default_slack_is_what_the_default_settings_promise() -> None:
    assert QUEUE_WAIT_MS == BUFFER_WAIT_S * 1000  # the command service's queue wait
    defaults = Settings()
    assert defaults.clock_skew_max_ms == 10_000
    assert timedelta(milliseconds=defaults.cast_order_slack_ms) == SLACK == timedelta(seconds=21)


def test_max_inversion() -> None:
    t = [START + timedelta(seconds=s) for s in (9, 5, 7, 1, 8)]
    assert max_inversion(t) == timedelta(seconds=7)  # 8 after 1
    assert max_inversion(sorted(t, reverse=True)) == timedelta(0)


def test_the_clock_offset_shifts_the_command_service_clock_and_the_bound_is_announced() -> None:
    shifted = serve_commands.clock(Settings(clock_offset_ms=-10_000))
    assert serve_commands.clock(Settings()) is utc_now
    assert abs(utc_now() - shifted() - timedelta(seconds=10)) < timedelta(seconds=1)
    note = clock_note(Settings(clock_skew_max_ms=2_500))
    assert "2.5 s (BOLETA_CLOCK_SKEW_MAX_MS)" in note
    assert "chrony" in note
    with pytest.raises(SettingsError, match="BOLETA_CLOCK_SKEW_MAX_MS=-1: must be 0 or more"):
        load({"BOLETA_CLOCK_SKEW_MAX_MS": "-1"})
