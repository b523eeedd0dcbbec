"""The lag of the live results: messages in the log past the tallies' checkpoints.

The tallies worker stores its own idea of the lag with each batch (the high watermark of
its last fetch response minus its position). That is what the worker saw, not what the log
holds: when Kafka's answers reach the worker slowly or not at all it stays low, or frozen,
while the log runs ahead (docs/reliability.md). So the query service reads the log's end
offsets itself and computes the lag from the checkpoints it reads with the results.

``LogEnds`` refreshes the end offsets every ``every_s`` in the background, in a worker
thread (a blocking read is a port: the composition root passes ``(timeout_s) -> ends``),
each read bounded by ``timeout_s``; a request never waits on Kafka. Ends read more than
``max_age_s`` ago are not used: the results then carry the worker's lag, and say so
(``lag_source`` "worker" instead of "log").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import msgspec

from domain.readmodel import behind
from queries.views import LOG, WORKER, ResultsView

log = logging.getLogger(__name__)


class EndsReader(Protocol):
    """Reads the topic's end offsets (blocking, within ``timeout_s``, or raises)."""

    def read(self, timeout_s: float) -> Mapping[int, int]: ...

    def close(self) -> None: ...


def lag_past(ends: Mapping[int, int], checkpoints: Mapping[str, int]) -> int:
    """Messages in the log past the results' ``checkpoints`` (keyed by the partition's
    number as text, as the read model and the API key them), summed over partitions."""
    return sum(behind(ends, {int(p): o for p, o in checkpoints.items()}).values())


class LogEnds:
    """The topic's end offsets as last read, refreshed in the background (see the module)."""

    def __init__(
        self,
        reader: EndsReader,
        every_s: float = 1.0,
        timeout_s: float = 2.0,
        max_age_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._every_s = every_s
        self._timeout_s = timeout_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._ends: dict[int, int] | None = None
        self._read_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._pending: asyncio.Future[Mapping[int, int]] | None = None
        self._pending_at = 0.0
        self._failing = False

    def fresh(self) -> dict[int, int] | None:
        """The end offsets if they were read within ``max_age_s``, else None."""
        if self._ends is None or self._clock() - self._read_at > self._max_age_s:
            return None
        return self._ends

    def apply(self, view: ResultsView) -> ResultsView:
        """``view`` with the lag of its checkpoints behind the log, when the log's ends are
        fresh; else as it is (the worker's lag, ``lag_source`` "worker")."""
        ends = self.fresh()
        if ends is None:
            return msgspec.structs.replace(view, lag_source=WORKER)
        return msgspec.structs.replace(view, lag=lag_past(ends, view.checkpoints), lag_source=LOG)

    async def refresh(self) -> None:
        """Read the ends in a thread, waiting at most ``timeout_s`` (plus a second); a
        failed or late read keeps the last ends, which age out. One read at a time: a late
        one is awaited again, not doubled. The ends count as read when the read began."""
        if self._pending is None or self._pending.done():
            if self._pending is not None and not self._pending.cancelled():
                self._pending.exception()  # retrieved here, or asyncio logs it as lost
            self._pending_at = self._clock()
            self._pending = asyncio.ensure_future(
                asyncio.to_thread(self._reader.read, self._timeout_s)
            )
        started = self._pending_at
        try:
            ends = await self._read_in_time(self._pending)
        except Exception as exc:  # Kafka unreachable: keep polling, the ends age out
            if not self._failing:  # once per outage, not every second
                log.warning("the log's end offsets could not be read: %r", exc)
            self._failing = True
            return
        if self._failing:
            log.warning("the log's end offsets are read again")
        self._ends, self._read_at, self._failing = dict(ends), started, False

    async def _read_in_time(self, pending: asyncio.Future[Mapping[int, int]]) -> Mapping[int, int]:
        """The pending read's ends, waited for at most ``timeout_s`` plus a second (the read
        goes on, shielded). asyncio.timeout, not wait_for: on 3.11 wait_for returns the
        result when the read ends just as the waiting task is cancelled, and close() then
        waited forever for a refresher that went on."""
        async with asyncio.timeout(self._timeout_s + 1.0):
            return await asyncio.shield(pending)

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._every_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending is not None:
            with contextlib.suppress(Exception):
                await self._read_in_time(self._pending)
        await asyncio.to_thread(self._reader.close)


__all__ = ["EndsReader", "LogEnds", "lag_past"]
