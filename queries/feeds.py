"""The live results as Server-Sent Events: one poller per contest and process, fanned out
to every subscriber."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import msgspec
from litestar.openapi import ResponseSpec
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from queries.contests import Contests
from queries.lag import LogEnds
from queries.reads import POLL_S, with_log_lag
from queries.results import RedisResults

HEARTBEAT_S = 15.0
# The stream's success response in the schema: each event's data is a ResultsView.
STREAM = {
    200: ResponseSpec(
        str,
        description="Server-Sent Events: a 'results' event (data: the results as JSON, a "
        "ResultsView) on every change, a keep-alive comment after 15 s of quiet",
        media_type="text/event-stream",
        generate_examples=False,
    )
}


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


def sse(feed: ResultsFeed) -> ServerSentEvent:
    """The feed as a Server-Sent Events response: one ``results`` event per change, a
    keep-alive comment after HEARTBEAT_S of quiet."""

    async def events() -> AsyncGenerator[str | ServerSentEventMessage, None]:
        async for payload in feed.subscribe():
            if payload is None:
                yield ServerSentEventMessage(comment="keep-alive")
            else:
                yield payload.decode()

    return ServerSentEvent(events(), event_type="results", retry_duration=3000)
