"""``/api/v1/results``: the default contest's live results, and their stream."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent

from queries.errors import documented
from queries.feeds import STREAM, ResultsFeeds, sse
from queries.params import reject_unknown
from queries.reads import TALLIES_UNAVAILABLE, LiveReads
from queries.views import ResultsView

NO_PARAMETERS = "It takes no parameters (one contest as of a moment: /api/v1/contests/...)"


class ResultsController(Controller):
    path = "/api/v1/results"
    tags = ["results"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/",
        summary="The default contest's live tallies per band and album, total, lag",
        responses=documented({400: NO_PARAMETERS, 503: TALLIES_UNAVAILABLE}),
    )
    async def results(
        self, reads: NamedDependency[LiveReads], request: Request[Any, Any, Any]
    ) -> ResultsView:
        reject_unknown(request, set())
        return await reads.of(reads.contests.default)

    @get(
        "/stream",
        summary="The default contest's results as Server-Sent Events",
        responses={**STREAM, **documented({400: NO_PARAMETERS})},
    )
    async def stream(
        self,
        feeds: NamedDependency[ResultsFeeds],
        reads: NamedDependency[LiveReads],
        request: Request[Any, Any, Any],
    ) -> ServerSentEvent:
        reject_unknown(request, set())
        return sse(feeds.of(reads.contests.default))
