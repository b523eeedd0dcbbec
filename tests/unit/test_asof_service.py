"""When the query service replays the log for results as of a moment, and what it keeps:
future moments refused, final results kept (most recently asked first), recent ones
computed afresh, one replay at a time within the timeout. The replay here folds an
in-memory log with the live laws (the real one is tested on the broker)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.asof import final_after
from domain.projection import Delivered, TallyView, fold
from domain.votes import VoteCast
from queries.asof import AsOfBusyError, FutureMomentError, ResultsAsOf

START = datetime(2026, 11, 30, 20, tzinfo=UTC)
BOUND = timedelta(seconds=15)


def vote(i: int, band: str, contest: str = "main") -> VoteCast:
    return VoteCast(
        event_id=str(uuid.UUID(int=(1 << 127) | i)),
        vote_id=str(uuid.UUID(int=i)),
        contest=contest,
        band=band,
        album="A",
        year=2000,
        rank=1,
        cast_at=START + timedelta(seconds=i),
    )


LOG = [Delivered(0, i, vote(i, "Mayfield" if i % 3 else "Lien")) for i in range(120)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Replays:
    def __init__(self) -> None:
        self.asked: list[datetime] = []

    def __call__(self, as_of: datetime, timeout_s: float) -> TallyView:
        assert timeout_s > 0
        self.asked.append(as_of)
        return fold([LOG], as_of)


def service(clock: Clock, replay: Replays, **kwargs: object) -> ResultsAsOf:
    return ResultsAsOf(replay, BOUND, timeout_s=2.0, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_a_moment_in_the_future_is_refused_without_a_replay() -> None:
    replay = Replays()
    results = service(Clock(START), replay)
    with pytest.raises(FutureMomentError, match="in the future"):
        asyncio.run(results.snapshot(START + timedelta(microseconds=1)))
    assert replay.asked == []


def test_final_results_are_replayed_once_and_kept_for_the_most_recent_moments() -> None:
    replay = Replays()
    late = Clock(START + timedelta(hours=1))
    results = service(late, replay, cache_size=2)
    moments = [START + timedelta(seconds=s) for s in (10, 20, 30)]

    async def run() -> None:
        first = await results.snapshot(moments[0])
        assert first.final
        assert first.contests["main"].total == 11
        assert first.contests["main"].bands == {"lien": 4, "mayfield": 7}  # by key
        assert first.contests["main"].shown_names()["mayfield"] == "Mayfield"
        assert (await results.snapshot(moments[0])) is first
        await results.snapshot(moments[1])
        await results.snapshot(moments[0])  # most recently asked: kept
        await results.snapshot(moments[2])  # evicts moments[1]
        await results.snapshot(moments[0])
        await results.snapshot(moments[1])

    asyncio.run(run())
    assert replay.asked == [moments[0], moments[1], moments[2], moments[1]]


def test_recent_results_are_not_kept_once_they_become_final() -> None:
    replay = Replays()
    as_of = START + timedelta(seconds=50)
    clock = Clock(as_of + timedelta(seconds=1))
    results = service(clock, replay)

    async def run() -> None:
        recent = await results.snapshot(as_of)
        assert not recent.final
        clock.now = final_after(as_of, BOUND)
        settled = await results.snapshot(as_of)
        assert settled.final
        assert settled is not recent
        assert (await results.snapshot(as_of)) is settled

    asyncio.run(run())
    assert replay.asked == [as_of, as_of]


def test_per_second_counts_are_the_minute_up_to_the_moment() -> None:
    results = service(Clock(START + timedelta(hours=1)), Replays())
    snap = asyncio.run(results.snapshot(START + timedelta(seconds=100, milliseconds=500)))
    seconds = snap.contests["main"].seconds
    last = int((START + timedelta(seconds=100)).timestamp())
    assert sorted(seconds) == list(range(last - 59, last + 1))
    assert snap.contests["main"].total == 101
    assert snap.checkpoints == {0: 119}


def test_one_replay_at_a_time_and_a_waiter_gives_up_at_the_timeout() -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(as_of: datetime, timeout_s: float) -> TallyView:
        started.set()
        release.wait(5)
        return fold([LOG], as_of)

    results = ResultsAsOf(slow, BOUND, timeout_s=0.3, clock=Clock(START + timedelta(hours=1)))

    async def run() -> None:
        first = asyncio.create_task(results.snapshot(START + timedelta(seconds=1)))
        await asyncio.to_thread(started.wait, 5)
        with pytest.raises(AsOfBusyError, match=r"within 0\.3 s"):
            await results.snapshot(START + timedelta(seconds=2))
        release.set()
        assert (await first).contests["main"].total == 2

    asyncio.run(run())


def test_a_failed_replay_is_not_kept() -> None:
    calls = []

    def flaky(as_of: datetime, timeout_s: float) -> TallyView:
        calls.append(as_of)
        if len(calls) == 1:
            raise TimeoutError("the replay did not end in time")
        return fold([LOG], as_of)

    results = ResultsAsOf(flaky, BOUND, timeout_s=1, clock=Clock(START + timedelta(hours=1)))

    async def run() -> None:
        with pytest.raises(TimeoutError):
            await results.snapshot(START)
        assert (await results.snapshot(START)).contests["main"].total == 1

    asyncio.run(run())
    assert len(calls) == 2
