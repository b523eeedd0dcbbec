"""``/api/v1/contests``: every contest, and one contest's results (live, as of a moment, or
as a stream)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.response import ServerSentEvent

from domain.asof import ReplayTooLongError
from queries.asof import AsOfBusyError, LogUnavailableError, ResultsAsOf, results_view
from queries.contests import Contests
from queries.errors import documented
from queries.feeds import STREAM, ResultsFeeds, sse
from queries.inputs import moment
from queries.params import AsOf, ContestId, reject_unknown
from queries.reads import TALLIES_UNAVAILABLE, LiveReads
from queries.views import ContestList, ResultsView

NO_SUCH_CONTEST = "No such contest (GET /api/v1/contests lists them)"


async def _results_as_of(
    contest: str, as_of: datetime, contests: Contests, service: ResultsAsOf | None
) -> ResultsView:
    if service is None:
        raise ServiceUnavailableException("results as of a moment are not configured here")
    try:
        snapshot = await service.snapshot(as_of)
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
        summary="One contest's tallies per band and album, total: live, or as of a moment",
        responses=documented(
            {
                400: "contest or as_of is refused (named with what it accepts), or another "
                "parameter was given",
                404: f"{NO_SUCH_CONTEST}; or as_of has not come yet: no results as of it exist yet",
                503: f"{TALLIES_UNAVAILABLE}; or, for as_of, the replay of the log is busy, "
                "too long, or cannot reach the log",
            }
        ),
    )
    async def results(
        self,
        reads: NamedDependency[LiveReads],
        request: Request[Any, Any, Any],
        results_as_of: NamedDependency[ResultsAsOf | None],
        contest: ContestId,
        as_of: AsOf = None,
    ) -> ResultsView:
        reject_unknown(request, {"as_of"})
        moment_asked = None if as_of is None else moment("as_of", as_of)
        await reads.known(contest)
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
