"""Results at given positions of the log: the tallies of exactly the messages before an end
offset per partition (``?positions=``, queries.inputs), optionally as of a moment too.
What a recount of the board compares with: the board's positions name the prefix of the
log it holds (docs/verifiability.md, "Recount").

The replay is a port, as for results as of a moment (queries.asof): the composition root
passes a blocking ``(ends, as_of, timeout_s) -> TallyView`` that folds the prefix with the
catalog's windows (``projections.asof.tallies_at``). A prefix of the log never changes,
so its results are final and kept (the ``cache_size`` most recently asked); one replay
runs at a time, bounded by ``timeout_s`` including the wait for its turn, by the same
settings as ``as_of``; an end past the log's answers 404 (``PastTheLogError``: no results
at it exist yet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.projection import TallyView
from queries.asof import ReplayTurns, Snapshot
from queries.cache import Coalescer
from queries.inputs import NotYetError, Positions, not_after_now

ReplayAt = Callable[[Positions, datetime | None, float], TallyView]


class PastTheLogError(NotYetError):
    """An end past the log's: no results at it exist yet (the API answers 404)."""

    def __init__(self, message: str) -> None:
        super().__init__("positions", message)


class ResultsAtPositions:
    def __init__(
        self,
        replay: ReplayAt,
        timeout_s: float,
        cache_size: int = 64,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._replay = replay
        self._clock = clock
        self._cache: Coalescer[Snapshot] = Coalescer(float("inf"), cache_size)
        self._turns = ReplayTurns(timeout_s, "results at positions")

    async def snapshot(self, ends: Positions, as_of: datetime | None = None) -> Snapshot:
        """Every contest's tallies of the log's messages before ``ends`` (cast by ``as_of``
        when given, which must not be in the future)."""
        if as_of is not None:
            not_after_now("as_of", as_of, self._clock())
        key = (tuple(sorted(ends.items())), as_of)
        return await self._cache.get(key, lambda: self._compute(ends, as_of))

    async def _compute(self, ends: Positions, as_of: datetime | None) -> Snapshot:
        view = await self._turns.run(lambda left: self._replay(dict(ends), as_of, left))
        return Snapshot.of(view, as_of or self._clock(), final=True)


__all__ = ["PastTheLogError", "ReplayAt", "ResultsAtPositions"]
