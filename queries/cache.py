"""Read coalescing for the query service: identical concurrent reads share one backend call.

A live contest has many readers asking the same thing (the results, the first page of the
log). Each key's answer is loaded once and reused for ``ttl`` seconds; readers that arrive
while it loads await the same load instead of starting their own. A failed load is not
kept: its waiters get the error and the next reader tries again. A reader that goes away
(client disconnect) does not cancel the load the others are waiting for.

With ``serve_stale``, a key that has an answer never makes a reader wait: an answer older
than ``ttl`` is returned as it is while one reload runs in the background (so the answer
is at most ``ttl`` plus one load old), and kept through failed reloads.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Coalescer(Generic[V]):
    def __init__(
        self,
        ttl: float,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
        serve_stale: bool = False,
    ) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("ttl must be >= 0 and max_entries >= 1")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, asyncio.Future[V]]] = OrderedDict()
        self._stale = serve_stale
        self._last: OrderedDict[Hashable, V] = OrderedDict()  # the last answer per key
        self.loads = 0  # how many backend calls were made (for metrics and tests)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        now = self._clock()
        if entry is not None and _failed(entry[1]):
            entry = None  # failed, and its waiters told: load again
        if entry is not None and (not entry[1].done() or now < entry[0]):
            self._entries.move_to_end(key)
            if self._stale and not entry[1].done() and key in self._last:
                return self._last[key]  # reloading: the previous answer will do
            return await asyncio.shield(entry[1])
        future: asyncio.Future[V] = asyncio.ensure_future(self._load(load))
        self._entries[key] = (float("inf"), future)
        self._entries.move_to_end(key)
        future.add_done_callback(lambda done: self._settle(key, done))
        self._evict()
        if self._stale and key in self._last:
            return self._last[key]
        return await asyncio.shield(future)

    async def _load(self, load: Callable[[], Awaitable[V]]) -> V:
        self.loads += 1
        return await load()

    def _settle(self, key: Hashable, done: asyncio.Future[V]) -> None:
        entry = self._entries.get(key)
        if entry is None or entry[1] is not done:
            return
        if _failed(done):
            del self._entries[key]
        else:
            self._entries[key] = (self._clock() + self._ttl, done)
            self._last[key] = done.result()
            self._last.move_to_end(key)
            while len(self._last) > self._max:
                self._last.popitem(last=False)

    def _evict(self) -> None:
        for key in list(self._entries):
            if len(self._entries) <= self._max:
                return
            if self._entries[key][1].done():
                del self._entries[key]


def _failed(future: asyncio.Future[V]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
