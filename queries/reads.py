"""The live reads behind the routes: each bounded in time and coalesced (queries.cache);
a store that cannot answer in time is a 503 naming it, or the last view read, marked stale."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import msgspec
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from queries.cache import Coalescer
from queries.contests import Contests
from queries.lag import LogEnds
from queries.results import RedisResults
from queries.views import AuditPage, ResultsView

POLL_S = 0.25
PAGE_TTL_S = 1.0  # a page is reloaded when older; it may be this plus one load behind
RESULTS_BOUND_S = 2.0  # past this the results are served stale (or 503), never awaited
# What a store that cannot be reached raises (a timeout, a reset, a refused connection).
STORE_ERRORS = (TimeoutError, OSError, RedisError, PyMongoError)
TALLIES_UNAVAILABLE = (
    "The tallies store (Redis) is unreachable and no earlier view is kept; retry shortly "
    "(Retry-After)"
)


@dataclass
class ReadCaches:
    """Identical concurrent reads share one backend call (see queries.cache)."""

    results: Coalescer[ResultsView] = field(default_factory=lambda: Coalescer(POLL_S, 64))
    contests: Coalescer[dict[str, int]] = field(default_factory=lambda: Coalescer(POLL_S, 1))
    pages: Coalescer[AuditPage] = field(
        default_factory=lambda: Coalescer(PAGE_TTL_S, 512, serve_stale=True)
    )
    # Per contest, the last view read: served, marked stale, while Redis is away.
    last_results: dict[str, ResultsView] = field(default_factory=dict)
    log_ends: LogEnds | None = None

    async def results_or_stale(
        self, contest: str, status: str, results: RedisResults
    ) -> ResultsView:
        """The contest's results within RESULTS_BOUND_S; when Redis cannot answer by then,
        the last view read, marked stale; with none, 503 naming the store. The lag is the
        log's past the view's checkpoints when the log's ends are known (queries.lag)."""
        try:
            view = await asyncio.wait_for(
                self.results.get(
                    ("results", contest, status), lambda: results.read(contest, status)
                ),
                RESULTS_BOUND_S,
            )
        except STORE_ERRORS as exc:
            last = self.last_results.get(contest)
            if last is None:
                raise store_unavailable("the tallies store (Redis)", exc) from None
            return with_log_lag(msgspec.structs.replace(last, stale=True), self.log_ends)
        self.last_results[contest] = view
        return with_log_lag(view, self.log_ends)

    async def contests_with_votes(self, results: RedisResults) -> dict[str, int]:
        """Each contest's votes within RESULTS_BOUND_S, or 503 naming the store."""
        try:
            return await asyncio.wait_for(
                self.contests.get("contests", results.contests), RESULTS_BOUND_S
            )
        except STORE_ERRORS as exc:
            raise store_unavailable("the tallies store (Redis)", exc) from None


def with_log_lag(view: ResultsView, log_ends: LogEnds | None) -> ResultsView:
    return view if log_ends is None else log_ends.apply(view)


def store_unavailable(store: str, exc: BaseException) -> ServiceUnavailableException:
    reason = type(exc).__name__
    return ServiceUnavailableException(
        f"{store} is unreachable ({reason}); retry shortly", headers={"Retry-After": "1"}
    )


@dataclass(frozen=True)
class LiveReads:
    """What the results routes read, in one dependency: the tallies, the contests known, and
    the caches in front of them."""

    results: RedisResults
    contests: Contests
    caches: ReadCaches

    async def of(self, contest: str) -> ResultsView:
        """The contest's live results (or the last read, stale; or 503)."""
        status = self.contests.status(contest)
        return await self.caches.results_or_stale(contest, status, self.results)

    async def with_votes(self) -> dict[str, int]:
        return await self.caches.contests_with_votes(self.results)

    async def known(self, contest: str) -> str:
        """The contest, when known (the default and the catalog's need no store); else 404."""
        if self.contests.is_known(contest, {}):
            return contest
        if not self.contests.is_known(contest, await self.with_votes()):
            raise NotFoundException(f"no contest {contest!r}: GET /api/v1/contests lists them")
        return contest
