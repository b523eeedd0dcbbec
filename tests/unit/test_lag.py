"""The live results' lag: the log's end offsets past the checkpoints served with the
results, never negative, equal to counting the uncounted messages one by one; ends that
are not fresh are not used (the worker's lag is served, and the response says so). The
reader here is an in-memory log (the real one is read on the broker, in the chaos and
integration suites)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.readmodel import behind
from queries.lag import LogEnds, lag_past
from queries.views import LOG, WORKER, ResultsView

partitions = st.integers(0, 5)
ends_st = st.dictionaries(partitions, st.integers(0, 50))
checkpoints_st = st.dictionaries(partitions, st.integers(-1, 60))


def uncounted(ends: Mapping[int, int], checkpoints: Mapping[int, int]) -> int:
    """The oracle: every offset in the log, one by one, that is past its checkpoint."""
    return sum(
        1 for p, end in ends.items() for offset in range(end) if offset > checkpoints.get(p, -1)
    )


@given(ends_st, checkpoints_st)
def test_the_lag_counts_the_messages_past_the_checkpoints(
    ends: dict[int, int], checkpoints: dict[int, int]
) -> None:
    per_partition = behind(ends, checkpoints)
    assert all(n >= 0 for n in per_partition.values())
    assert sum(per_partition.values()) == uncounted(ends, checkpoints)
    assert lag_past(ends, {str(p): o for p, o in checkpoints.items()}) == uncounted(
        ends, checkpoints
    )


def view(checkpoints: dict[str, int], worker_lag: int = 7) -> ResultsView:
    return ResultsView(
        contest="main",
        status="open",
        total=0,
        bands=[],
        per_second=[],
        checkpoints=checkpoints,
        lag=worker_lag,
        as_of=datetime(2026, 11, 30, tzinfo=UTC),
        lag_source=WORKER,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Log:
    """A topic's end offsets, readable unless cut off (then a read fails after a while)."""

    def __init__(self, ends: dict[int, int]) -> None:
        self.ends = ends
        self.reachable = threading.Event()
        self.reachable.set()
        self.reads = 0
        self.closed = False

    def read(self, timeout_s: float) -> Mapping[int, int]:
        self.reads += 1
        if not self.reachable.wait(timeout_s):
            raise TimeoutError("cut off")
        return dict(self.ends)

    def close(self) -> None:
        self.closed = True


@given(ends_st, checkpoints_st, st.floats(0, 10), st.integers(0, 1000))
def test_fresh_ends_give_the_log_s_lag_stale_ones_the_worker_s(
    ends: dict[int, int], checkpoints: dict[int, int], age: float, worker_lag: int
) -> None:
    clock = Clock()
    lag = LogEnds(Log(ends), max_age_s=3.0, clock=clock)
    asyncio.run(lag.refresh())
    clock.now += age
    served = lag.apply(view({str(p): o for p, o in checkpoints.items()}, worker_lag))
    if age <= 3.0:
        assert (served.lag, served.lag_source) == (uncounted(ends, checkpoints), LOG)
    else:
        assert (served.lag, served.lag_source) == (worker_lag, WORKER)


def test_before_any_read_the_worker_s_lag_is_served() -> None:
    served = LogEnds(Log({0: 5})).apply(view({"0": 1}, worker_lag=2))
    assert (served.lag, served.lag_source) == (2, WORKER)


async def test_a_failed_read_keeps_the_last_ends_until_they_age_out() -> None:
    clock = Clock()
    log = Log({0: 10, 1: 4})
    lag = LogEnds(log, timeout_s=0.05, max_age_s=3.0, clock=clock)
    await lag.refresh()
    log.ends = {0: 20, 1: 4}
    log.reachable.clear()
    clock.now += 2.0
    await lag.refresh()  # times out: the ends read 2 s ago are still fresh
    assert lag.apply(view({"0": 4, "1": 3})).lag == 5
    clock.now += 1.5
    assert lag.apply(view({"0": 4, "1": 3})).lag_source == WORKER
    log.reachable.set()
    await lag.refresh()
    served = lag.apply(view({"0": 4, "1": 3}))
    assert (served.lag, served.lag_source) == (15, LOG)


async def test_a_request_never_waits_on_the_log() -> None:
    log = Log({0: 10})
    log.reachable.clear()
    lag = LogEnds(log, every_s=0.01, timeout_s=0.2)
    lag.start()
    await asyncio.sleep(0.05)
    # The log is unreachable: a read of it blocks until ``reachable`` is set, so an apply
    # that waited on the log would never return (a timing bound here only measured load).
    served = lag.apply(view({"0": 4}))
    assert served.lag_source == WORKER
    log.reachable.set()
    for _ in range(1000):  # the refresher reads the log again within its period
        if lag.apply(view({"0": 4})).lag == 5 and log.reads >= 2:
            break
        await asyncio.sleep(0.01)
    assert lag.apply(view({"0": 4})).lag == 5
    await lag.close()
    assert log.closed
    assert log.reads >= 2


async def test_close_ends_the_refresher_even_when_a_read_ends_as_it_is_cancelled() -> None:
    # Refreshing back to back, the cancellation often lands as a read completes: on 3.11
    # asyncio.wait_for then returned the read's ends instead, the refresher went on, and
    # close() waited for it forever (CI hung here once). It hung within 5 rounds of this.
    for i in range(200):
        lag = LogEnds(Log({0: 1}), every_s=0.0, timeout_s=0.2)
        lag.start()
        await asyncio.sleep(0.001 * (i % 7))
        closing = asyncio.ensure_future(lag.close())
        done, _ = await asyncio.wait({closing}, timeout=2.0)
        assert closing in done, f"close() still waits for the refresher (round {i})"
