"""The query service: a Litestar app factory. Read-only; results from Redis, the audit log
from MongoDB; the built webapp at ``/``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Litestar, Request, get
from litestar.config.cors import CORSConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import Parameter
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.response import Response, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.static_files import create_static_files_router
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from domain.asof import ReplayTooLongError
from domain.catalog import Catalog
from domain.validation import MAX_CONTEST, MAX_TEXT, MIN_YEAR
from queries.asof import AsOfBusyError, FutureMomentError, ResultsAsOf, results_view
from queries.cache import Coalescer
from queries.contests import Contests
from queries.lag import LogEnds
from queries.results import RedisResults
from queries.views import ContestList, Health, ResultsView, VotePage, VoteView
from queries.votes import AuditBusyError, BadCursorError, MongoVotes, VoteFilter

CONTEST_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
VOTE_PARAMS = {"contest", "band", "album", "year", "since", "until", "limit", "cursor"}
POLL_S = 0.25
HEARTBEAT_S = 15.0
PAGE_TTL_S = 1.0  # a page is reloaded when older; it may be this plus one load behind
RESULTS_BOUND_S = 2.0  # past this the results are served stale (or 503), never awaited
# What a store that cannot be reached raises (a timeout, a reset, a refused connection).
STORE_ERRORS = (TimeoutError, OSError, RedisError, PyMongoError)


@dataclass
class QueryConfig:
    """What the app needs, built from settings by the composition root."""

    cors_origins: list[str] = field(default_factory=list)
    webapp_dir: Path | None = None
    default_contest: str = "main"
    catalog: Catalog | None = None
    # Results as of a moment, replayed from the log (None: ``as_of`` is answered 503).
    results_as_of: ResultsAsOf | None = None
    # The log's end offsets, for the live results' lag (None: the worker's lag is served).
    log_ends: LogEnds | None = None


@dataclass
class ReadCaches:
    """Identical concurrent reads share one backend call (see queries.cache)."""

    results: Coalescer[ResultsView] = field(default_factory=lambda: Coalescer(POLL_S, 64))
    contests: Coalescer[dict[str, int]] = field(default_factory=lambda: Coalescer(POLL_S, 1))
    pages: Coalescer[VotePage] = field(
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


class ResultsFeed:
    """One poller per contest and process: reads the contest's results when they change (or
    the log's end offsets do: the lag) and fans them out to every SSE subscriber (no loop
    per client)."""

    def __init__(
        self,
        results: RedisResults,
        contest: str,
        contests: Contests,
        log_ends: LogEnds | None = None,
    ) -> None:
        self._results = results
        self._contest = contest
        self._contests = contests
        self._log_ends = log_ends
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: bytes | None = None

    async def _run(self) -> None:
        version: tuple[str, ...] = ()
        while True:
            try:
                status = self._contests.status(self._contest)
                ends = self._log_ends.fresh() if self._log_ends is not None else None
                current = (status, str(ends), *await self._results.version(self._contest))
                if current != version:
                    version = current
                    view = await self._results.read(self._contest, status)
                    view = with_log_lag(view, self._log_ends)
                    self._last = msgspec.json.encode(view)
                    for queue in list(self._subscribers):
                        if queue.full():
                            queue.get_nowait()  # a slow client only needs the newest
                        queue.put_nowait(self._last)
            except Exception:  # Redis hiccups: keep polling, re-read when it is back
                version = ()
            await asyncio.sleep(POLL_S)

    async def subscribe(self) -> AsyncIterator[bytes | None]:
        """The results on every change; None after HEARTBEAT_S of quiet (send a comment so
        clients and proxies can tell a quiet stream from a dead one)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self._subscribers.add(queue)
        try:
            if self._last is not None:
                yield self._last
            while True:
                try:
                    yield await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield None
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class ResultsFeeds:
    """The feeds of the contests asked for (only known contests get one)."""

    def __init__(
        self, results: RedisResults, contests: Contests, log_ends: LogEnds | None = None
    ) -> None:
        self._results = results
        self._contests = contests
        self._log_ends = log_ends
        self._feeds: dict[str, ResultsFeed] = {}

    def of(self, contest: str) -> ResultsFeed:
        feed = self._feeds.get(contest)
        if feed is None:
            feed = self._feeds[contest] = ResultsFeed(
                self._results, contest, self._contests, self._log_ends
            )
        return feed

    async def close(self) -> None:
        for feed in self._feeds.values():
            await feed.close()


class MetricsController(PrometheusController):
    """Prometheus text format: not part of the JSON API's schema."""

    include_in_schema = False


def _reject_unknown(request: Request[Any, Any, Any], allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationException(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )


def _sse(feed: ResultsFeed) -> ServerSentEvent:
    async def events() -> AsyncGenerator[str | ServerSentEventMessage, None]:
        async for payload in feed.subscribe():
            if payload is None:
                yield ServerSentEventMessage(comment="keep-alive")
            else:
                yield payload.decode()

    return ServerSentEvent(events(), event_type="results", retry_duration=3000)


async def _results_of(
    contest: str, results: RedisResults, contests: Contests, caches: ReadCaches
) -> ResultsView:
    return await caches.results_or_stale(contest, contests.status(contest), results)


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


async def _known(
    contest: str, results: RedisResults, contests: Contests, caches: ReadCaches
) -> str:
    if contests.is_known(contest, {}):  # the default and the catalog's: no store needed
        return contest
    if not contests.is_known(contest, await caches.contests_with_votes(results)):
        raise NotFoundException(f"no contest {contest!r}: GET /api/v1/contests lists them")
    return contest


ContestId = Annotated[
    str,
    Parameter(
        pattern=CONTEST_PATTERN,
        max_length=MAX_CONTEST,
        description="A contest id: lowercase letters, digits and hyphens",
    ),
]


class ResultsController(Controller):
    path = "/api/v1/results"
    tags = ["results"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/", summary="The default contest's live tallies per band and album, total, lag")
    async def results(
        self,
        results: NamedDependency[RedisResults],
        contests: NamedDependency[Contests],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
    ) -> ResultsView:
        _reject_unknown(request, set())
        return await _results_of(contests.default, results, contests, caches)

    @get("/stream", summary="The default contest's results as Server-Sent Events")
    async def stream(
        self,
        feeds: NamedDependency[ResultsFeeds],
        contests: NamedDependency[Contests],
        request: Request[Any, Any, Any],
    ) -> ServerSentEvent:
        _reject_unknown(request, set())
        return _sse(feeds.of(contests.default))


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
        _reject_unknown(request, set())
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
        _reject_unknown(request, {"as_of"})
        await _known(contest, results, contests, caches)
        if as_of is not None:
            return await _results_as_of(contest, as_of, contests, results_as_of)
        return await _results_of(contest, results, contests, caches)

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
        _reject_unknown(request, set())
        await _known(contest, results, contests, caches)
        return _sse(feeds.of(contest))


class VotesController(Controller):
    path = "/api/v1/votes"
    tags = ["votes"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/", summary="The audit log, newest first, filtered, cursor-paginated")
    async def votes(
        self,
        votes: NamedDependency[MongoVotes],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
        contest: Annotated[
            str | None, Parameter(pattern=CONTEST_PATTERN, max_length=MAX_CONTEST)
        ] = None,
        band: Annotated[str | None, Parameter(max_length=MAX_TEXT, min_length=1)] = None,
        album: Annotated[str | None, Parameter(max_length=MAX_TEXT, min_length=1)] = None,
        year: Annotated[int | None, Parameter(ge=MIN_YEAR, le=9999)] = None,
        since: Annotated[datetime | None, Parameter(description="RFC 3339, inclusive")] = None,
        until: Annotated[datetime | None, Parameter(description="RFC 3339, exclusive")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=400, min_length=1)] = None,
    ) -> VotePage:
        _reject_unknown(request, VOTE_PARAMS)
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise ValidationException(f"{name} needs a time zone, e.g. 2026-11-27T10:00:00Z")
        flt = VoteFilter(
            contest=contest, band=band, album=album, year=year, since=since, until=until
        )
        try:
            return await caches.pages.get(
                (flt, limit, cursor), lambda: votes.page(flt, limit, cursor)
            )
        except BadCursorError as exc:
            raise ValidationException(str(exc)) from None
        except AuditBusyError as exc:
            raise ServiceUnavailableException(str(exc), headers={"Retry-After": "1"}) from None
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None

    @get(
        "/{vote_id:str}",
        summary="One counted vote by its vote_id",
        responses={404: ResponseSpec(None, description="No counted vote has this vote_id")},
    )
    async def vote(
        self,
        votes: NamedDependency[MongoVotes],
        vote_id: Annotated[str, Parameter(pattern=UUID_PATTERN, description="A UUID")],
    ) -> VoteView:
        canonical = vote_id.lower()
        try:
            found = await votes.by_vote_id(canonical)
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None
        if found is None:
            raise NotFoundException(f"no counted vote has vote_id {canonical}")
        return found


@get("/healthz", tags=["health"], summary="The process is alive")
async def healthz() -> Health:
    return Health("ok")


@get("/readyz", tags=["health"], summary="Redis and MongoDB are reachable")
async def readyz(
    results: NamedDependency[RedisResults], votes: NamedDependency[MongoVotes]
) -> Response[Health]:
    checks: dict[str, str] = {}
    for name, probe in (("redis", results.ping), ("mongo", votes.ping)):
        try:
            await asyncio.wait_for(probe(), 2)
            checks[name] = "ok"
        except Exception as exc:  # report which dependency is down; never crash
            checks[name] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response(Health("ok" if ok else "unavailable", checks), status_code=200 if ok else 503)


def create_app(
    config: QueryConfig,
    open_results: Callable[[], RedisResults],
    open_votes: Callable[[], MongoVotes],
    on_shutdown: Callable[[], Any] | None = None,
) -> Litestar:
    """The app. Clients are opened in the lifespan (by the callables), never at import."""
    state: dict[str, Any] = {}
    contests = Contests(config.catalog, config.default_contest)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        state["results"] = open_results()
        state["votes"] = open_votes()
        state["feeds"] = ResultsFeeds(state["results"], contests, config.log_ends)
        state["caches"] = ReadCaches(log_ends=config.log_ends)
        if config.log_ends is not None:
            config.log_ends.start()
        try:
            yield
        finally:
            await state["feeds"].close()
            if config.log_ends is not None:
                await config.log_ends.close()
            if on_shutdown is not None:
                await on_shutdown()

    prometheus = PrometheusConfig(app_name="boleta_queries", group_path=True)
    routes: list[Any] = [
        ResultsController,
        ContestsController,
        VotesController,
        healthz,
        readyz,
        MetricsController,
    ]
    if config.webapp_dir is not None and (config.webapp_dir / "index.html").exists():
        routes.append(
            create_static_files_router(
                path="/",
                directories=[config.webapp_dir],
                html_mode=True,
                name="webapp",
                include_in_schema=False,
            )
        )
    return Litestar(
        route_handlers=routes,
        dependencies={
            "results": Provide(lambda: state["results"], sync_to_thread=False),
            "votes": Provide(lambda: state["votes"], sync_to_thread=False),
            "feeds": Provide(lambda: state["feeds"], sync_to_thread=False),
            "contests": Provide(lambda: contests, sync_to_thread=False),
            "caches": Provide(lambda: state["caches"], sync_to_thread=False),
            "results_as_of": Provide(lambda: config.results_as_of, sync_to_thread=False),
        },
        lifespan=[lifespan],
        middleware=[prometheus.middleware],
        cors_config=CORSConfig(allow_origins=config.cors_origins, allow_methods=["GET"])
        if config.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="boleta queries",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
    )
