"""``/api/v1/contests``: every contest, and one contest's results (live, as of a moment, or
as a stream)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import ServerSentEvent

from domain.asof import ReplayTooLongError
from queries.asof import AsOfBusyError, FutureMomentError, ResultsAsOf, results_view
from queries.contests import Contests
from queries.feeds import ResultsFeeds, sse
from queries.params import ContestId, reject_unknown
from queries.reads import ReadCaches, known, live_results
from queries.results import RedisResults
from queries.views import ContestList, ResultsView


async def _results_as_of(
    contest: str, as_of: datetime, contests: Contests, service: ResultsAsOf | None
) -> ResultsView:
    if as_of.tzinfo is None:
        raise ValidationException("as_of needs a time zone, e.g. 2026-11-27T20:00:00Z")
    if service is None:
        raise ServiceUnavailableException("results as of a moment are not configured here")
    try:
        snapshot = await service.snapshot(as_of)
    except FutureMomentError as exc:
        raise ValidationException(str(exc)) from None
    except (AsOfBusyError, TimeoutError) as exc:
        raise ServiceUnavailableException(
            str(exc) or "the replay of the log did not end in time", headers={"Retry-After": "5"}
        ) from None
    except ReplayTooLongError as exc:
        raise ServiceUnavailableException(str(exc)) from None
    return results_view(snapshot, contest, contests.status(contest, at=as_of))


class ContestsController(Controller):
    path = "/api/v1/contests"
    tags = ["contests"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/", summary="Every contest: id, title, window, status (upcoming, open, closed), total")
    async def contests(
        self,
        results: NamedDependency[RedisResults],
        contests: NamedDependency[Contests],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
    ) -> ContestList:
        reject_unknown(request, set())
        return contests.listing(await caches.contests_with_votes(results))

    @get(
        "/{contest:str}/results",
        summary="One contest's tallies per band and album, total: live, or as of a moment",
        responses={
            404: ResponseSpec(None, description="No such contest"),
            503: ResponseSpec(None, description="as_of: the replay of the log is busy or too long"),
        },
    )
    async def results(
        self,
        results: NamedDependency[RedisResults],
        contests: NamedDependency[Contests],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
        results_as_of: NamedDependency[ResultsAsOf | None],
        contest: ContestId,
        as_of: Annotated[
            datetime | None,
            Parameter(
                description="RFC 3339 with a time zone, not in the future: the tallies of "
                "every vote cast up to it, computed from the log"
            ),
        ] = None,
    ) -> ResultsView:
        reject_unknown(request, {"as_of"})
        await known(contest, results, contests, caches)
        if as_of is not None:
            return await _results_as_of(contest, as_of, contests, results_as_of)
        return await live_results(contest, results, contests, caches)

    @get(
        "/{contest:str}/results/stream",
        summary="One contest's results as Server-Sent Events, one event per change",
        responses={404: ResponseSpec(None, description="No such contest")},
    )
    async def stream(
        self,
        results: NamedDependency[RedisResults],
        contests: NamedDependency[Contests],
        caches: NamedDependency[ReadCaches],
        feeds: NamedDependency[ResultsFeeds],
        request: Request[Any, Any, Any],
        contest: ContestId,
    ) -> ServerSentEvent:
        reject_unknown(request, set())
        await known(contest, results, contests, caches)
        return sse(feeds.of(contest))
