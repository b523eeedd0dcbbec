"""``/api/v1/contests``: every contest, and one contest's results (live, as of a moment, or
as a stream)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.response import ServerSentEvent

from domain.asof import ReplayTooLongError
from queries.asof import (
    AsOfBusyError,
    LogUnavailableError,
    ResultsAsOf,
    Snapshot,
    results_view,
)
from queries.contests import Contests
from queries.errors import documented
from queries.feeds import STREAM, ResultsFeeds, sse
from queries.inputs import decode_positions, moment
from queries.params import AsOf, ContestId, PositionsParam, reject_unknown
from queries.positions import ResultsAtPositions
from queries.reads import TALLIES_UNAVAILABLE, LiveReads
from queries.views import ContestList, ResultsView

NO_SUCH_CONTEST = "No such contest (GET /api/v1/contests lists them)"


async def _results_as_of(
    contest: str, as_of: datetime, contests: Contests, service: ResultsAsOf | None
) -> ResultsView:
    if service is None:
        raise ServiceUnavailableException("results as of a moment are not configured here")
    return await _replayed(contest, contests, as_of, lambda: service.snapshot(as_of))


async def _results_at(
    contest: str,
    ends: dict[int, int],
    as_of: datetime | None,
    contests: Contests,
    service: ResultsAtPositions | None,
) -> ResultsView:
    if service is None:
        raise ServiceUnavailableException("results at positions are not configured here")
    return await _replayed(contest, contests, as_of, lambda: service.snapshot(ends, as_of))


async def _replayed(
    contest: str,
    contests: Contests,
    as_of: datetime | None,
    compute: Callable[[], Awaitable[Snapshot]],
) -> ResultsView:
    """One contest's results from a replay of the log; its failures as 503s."""
    try:
        snapshot = await compute()
    except (AsOfBusyError, TimeoutError) as exc:
        raise ServiceUnavailableException(
            str(exc) or "the replay of the log did not end in time", headers={"Retry-After": "5"}
        ) from None
    except LogUnavailableError as exc:
        raise ServiceUnavailableException(str(exc), headers={"Retry-After": "5"}) from None
    except ReplayTooLongError as exc:
        raise ServiceUnavailableException(str(exc)) from None
    return results_view(snapshot, contest, contests.status(contest, at=as_of))


class ContestsController(Controller):
    path = "/api/v1/contests"
    tags = ["contests"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/",
        summary="Every contest: id, title, window, status (upcoming, open, closed), total",
        responses=documented({400: "It takes no parameters", 503: TALLIES_UNAVAILABLE}),
    )
    async def contests(
        self, reads: NamedDependency[LiveReads], request: Request[Any, Any, Any]
    ) -> ContestList:
        reject_unknown(request, set())
        return reads.contests.listing(await reads.with_votes())

    @get(
        "/{contest:str}/results",
        summary="One contest's tallies per band and album, total: live, as of a moment, or "
        "at positions of the log",
        description="Live from the tallies; with as_of, of the votes cast up to it; with "
        "positions, of exactly the log's messages before those end offsets (a board "
        "recount's positions; with as_of too, of those cast up to it). Both are computed "
        "from the log (with the catalog's voting windows) and final: checkpoints are the "
        "last offsets counted; as_of is the moment asked, or (positions alone) when they "
        "were computed.",
        responses=documented(
            {
                400: "contest, as_of or positions is refused (named with what it accepts), "
                "or another parameter was given",
                404: f"{NO_SUCH_CONTEST}; or as_of has not come yet, or positions end past "
                "the log: no results as of or at them exist yet",
                503: f"{TALLIES_UNAVAILABLE}; or, for as_of or positions, the replay of the "
                "log is busy, too long, or cannot reach the log",
            }
        ),
    )
    async def results(
        self,
        reads: NamedDependency[LiveReads],
        request: Request[Any, Any, Any],
        results_as_of: NamedDependency[ResultsAsOf | None],
        results_at: NamedDependency[ResultsAtPositions | None],
        contest: ContestId,
        as_of: AsOf = None,
        positions: PositionsParam = None,
    ) -> ResultsView:
        reject_unknown(request, {"as_of", "positions"})
        moment_asked = None if as_of is None else moment("as_of", as_of)
        ends = None if positions is None else decode_positions(positions)
        await reads.known(contest)
        if ends is not None:
            return await _results_at(contest, ends, moment_asked, reads.contests, results_at)
        if moment_asked is not None:
            return await _results_as_of(contest, moment_asked, reads.contests, results_as_of)
        return await reads.of(contest)

    @get(
        "/{contest:str}/results/stream",
        summary="One contest's results as Server-Sent Events, one event per change",
        responses={
            **STREAM,
            **documented(
                {
                    400: "contest is refused, or a parameter was given",
                    404: NO_SUCH_CONTEST,
                    503: TALLIES_UNAVAILABLE,
                }
            ),
        },
    )
    async def stream(
        self,
        reads: NamedDependency[LiveReads],
        feeds: NamedDependency[ResultsFeeds],
        request: Request[Any, Any, Any],
        contest: ContestId,
    ) -> ServerSentEvent:
        reject_unknown(request, set())
        await reads.known(contest)
        return sse(feeds.of(contest))
