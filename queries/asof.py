"""Results as of a moment (see domain.asof), computed from the log.

The replay itself is a port: the composition root passes a blocking function
``(as_of, timeout_s) -> TallyView`` (projections.asof reads the log). This module decides
when to run it and what to keep:

- a moment in the future is refused (``FutureMomentError``, queries.inputs' ``NotYetError``:
  the service answers 404, no results as of it exist yet);
- one replay runs at a time, in a worker thread, bounded by ``timeout_s`` including the
  wait for its turn (``AsOfBusyError``, ``TimeoutError``: 503 with ``Retry-After``); a
  replay that cannot reach the log raises ``LogUnavailableError`` (503 too);
- results that are final (no vote cast by then can still reach the log) are kept, the
  ``cache_size`` most recently asked moments, for good; results of a moment too recent to
  be final are computed afresh, shared only by readers asking within ``FRESH_TTL_S``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.asof import final_after
from domain.projection import ContestTally, TallyView
from queries.cache import Coalescer
from queries.inputs import NotYetError, not_after_now
from queries.results import WINDOW_S, band_tallies
from queries.views import ResultsView, SecondCount

Replay = Callable[[datetime, float], TallyView]
FRESH_TTL_S = 1.0


FutureMomentError = NotYetError  # results as of a moment that has not come yet


class LogUnavailableError(Exception):
    """The replay could not read the log (the broker did not answer)."""


class AsOfBusyError(Exception):
    """Other replays held the service for longer than this one may wait."""


class ReplayTurns:
    """Replays of the log, one at a time, each within ``timeout_s`` of being asked for
    (waiting for its turn included); ``replays`` counts those that ran."""

    def __init__(self, timeout_s: float, what: str) -> None:
        self._timeout = timeout_s
        self._what = what
        self._turn: asyncio.Semaphore | None = None  # made in the serving event loop
        self.replays = 0

    async def run(self, replay: Callable[[float], TallyView]) -> TallyView:
        """``replay(seconds left)`` in a thread, once it is this call's turn; raises
        :class:`AsOfBusyError` when no turn came within the timeout."""
        deadline = time.monotonic() + self._timeout
        if self._turn is None:
            self._turn = asyncio.Semaphore(1)
        try:
            await asyncio.wait_for(self._turn.acquire(), self._timeout)
        except TimeoutError:
            raise AsOfBusyError(
                f"other {self._what} are being computed; none started within {self._timeout:g} s"
            ) from None
        try:
            self.replays += 1
            return await asyncio.to_thread(replay, max(0.0, deadline - time.monotonic()))
        finally:
            self._turn.release()


@dataclass(frozen=True)
class Snapshot:
    """Every contest's tallies as of ``as_of`` (per-second counts only of the ``WINDOW_S``
    seconds up to it) and the last offset of each partition the replay read."""

    as_of: datetime
    final: bool
    contests: dict[str, ContestTally]
    checkpoints: dict[int, int]

    @classmethod
    def of(cls, view: TallyView, as_of: datetime, final: bool) -> Snapshot:
        last = cast_second_of(as_of)
        contests = {}
        for contest, tally in view.contests.items():
            seconds = Counter({s: n for s, n in tally.seconds.items() if last - s < WINDOW_S})
            contests[contest] = ContestTally(
                tally.bands, tally.albums, seconds, total=tally.total, names=tally.names
            )
        return cls(as_of, final, contests, dict(view.checkpoints))


def cast_second_of(moment: datetime) -> int:
    return int(moment.timestamp())


def results_view(snapshot: Snapshot, contest: str, status: str) -> ResultsView:
    """One contest's results in the live results' shape."""
    tally = snapshot.contests.get(contest, ContestTally())
    # The same names as the live results: counted by key, shown as the first spelling.
    bands = band_tallies(tally.bands, tally.albums, tally.shown_names())
    last = cast_second_of(snapshot.as_of)
    return ResultsView(
        contest=contest,
        status=status,
        total=tally.total,
        bands=bands,
        per_second=[SecondCount(s, tally.seconds[s]) for s in range(last - WINDOW_S + 1, last + 1)],
        checkpoints={str(p): o for p, o in snapshot.checkpoints.items()},
        lag=0,
        as_of=snapshot.as_of,
        final=snapshot.final,
    )


class ResultsAsOf:
    def __init__(
        self,
        replay: Replay,
        final_delay: timedelta,
        timeout_s: float,
        cache_size: int = 64,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._replay = replay
        self._final_delay = final_delay  # after a moment, until its results are final
        self._clock = clock
        self._final: Coalescer[Snapshot] = Coalescer(float("inf"), cache_size)
        self._fresh: Coalescer[Snapshot] = Coalescer(FRESH_TTL_S, 8)
        self._turns = ReplayTurns(timeout_s, "results as of a moment")

    async def snapshot(self, as_of: datetime) -> Snapshot:
        now = self._clock()
        not_after_now("as_of", as_of, now)
        final = now >= final_after(as_of, self._final_delay)
        cache = self._final if final else self._fresh
        return await cache.get(as_of, lambda: self._compute(as_of, final))

    async def _compute(self, as_of: datetime, final: bool) -> Snapshot:
        view = await self._turns.run(lambda left: self._replay(as_of, left))
        return Snapshot.of(view, as_of, final)


__all__ = [
    "AsOfBusyError",
    "FutureMomentError",
    "LogUnavailableError",
    "Replay",
    "ResultsAsOf",
    "Snapshot",
    "results_view",
]
