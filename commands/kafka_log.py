"""The vote log on Kafka: an idempotent, acks=all confluent-kafka producer bridged to asyncio.

``append`` produces a batch of events and resolves once Kafka's delivery report of every
one of them is in (or a bound runs out): only then may a vote be acknowledged.

Delivery reports are served by ``Producer.poll(0)`` from a task on the event loop while
reports are outstanding, so callbacks run on the loop's thread: no poll thread fighting
the event loop for the GIL, no locks, no cross-thread wake-ups. ``poll(0)`` never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from domain import EventCodec, VoteCast

BUFFER_WAIT_S = 1.0  # how long a full local queue may hold a batch before backpressure
IDLE_POLL_S = 0.0005  # pause between polls while reports are outstanding but none came


@dataclass(frozen=True, slots=True)
class Appended:
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class NotAppended:
    """The log did not confirm the event. ``reason``: ``unavailable`` or ``resource_exhausted``."""

    reason: str
    message: str


AppendResult = Appended | NotAppended

QUEUE_FULL = NotAppended(
    "resource_exhausted", "the service's Kafka queue is full; retry later with the same vote_id"
)
NOT_CONFIRMED = NotAppended(
    "unavailable", "Kafka did not confirm the vote in time; retry with the same vote_id"
)


def producer_config(
    bootstrap: str,
    linger_ms: int,
    delivery_timeout_ms: int,
    compression: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": linger_ms,
        "compression.type": compression,
        "delivery.timeout.ms": delivery_timeout_ms,
        "queue.buffering.max.messages": 200_000,
        "batch.num.messages": 10_000,
        "client.id": "boleta-commands",
        **(extra or {}),
    }


class _Waiter:
    """Collects the delivery reports of one batch and resolves its future once."""

    __slots__ = ("future", "pending", "results")

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.results: list[AppendResult | None] = [None] * size
        self.pending = size

    def report(self, index: int, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.results[index] = Appended(msg.partition() or 0, msg.offset() or 0)
        else:
            self.results[index] = NotAppended(
                "unavailable",
                f"Kafka did not take the vote ({err.str()}); retry with the same vote_id",
            )
        self.done_one()

    def skip(self, index: int, result: NotAppended) -> None:
        self.results[index] = result
        self.done_one()

    def done_one(self) -> None:
        self.pending -= 1
        if self.pending == 0 and not self.future.done():
            self.future.set_result(None)


class KafkaVoteLog:
    """Appends ``VoteCast`` events to the votes topic, keyed by vote_id."""

    def __init__(self, config: dict[str, Any], topic: str, codec: EventCodec[VoteCast]) -> None:
        self._producer = Producer(config)
        self._topic = topic
        self._codec = codec
        self._headers: list[tuple[str, str | bytes | None]] = list(codec.headers)
        self._outstanding = 0
        self._work = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    async def _serve_reports(self) -> None:
        poll = self._producer.poll
        while True:
            if self._outstanding <= 0:
                self._work.clear()
                await self._work.wait()
            served = poll(0)
            await asyncio.sleep(0 if served else IDLE_POLL_S)

    def _started(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._serve_reports())

    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        """Produce ``events``; wait at most ``within_s`` seconds for Kafka to confirm them all."""
        if not events:
            return []
        self._started()
        waiter = _Waiter(asyncio.get_running_loop(), len(events))
        deadline = time.monotonic() + within_s
        produce, encode, topic, headers = (
            self._producer.produce,
            self._codec.encode,
            self._topic,
            self._headers,
        )
        self._outstanding += len(events)
        self._work.set()
        try:
            for index, event in enumerate(events):
                value = encode(event)
                report = partial(waiter.report, index)
                full_until: float | None = None
                while True:
                    try:
                        produce(
                            topic,
                            value=value,
                            key=event.vote_id.encode(),
                            headers=headers,
                            on_delivery=report,
                        )
                        break
                    except BufferError:
                        # The local queue is full: wait a bounded time, then push back.
                        now = time.monotonic()
                        full_until = full_until or min(deadline, now + BUFFER_WAIT_S)
                        if now >= full_until:
                            waiter.skip(index, QUEUE_FULL)
                            break
                        await asyncio.sleep(0.005)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter.future), deadline - time.monotonic())
        finally:
            self._outstanding -= len(events)
        return [r if r is not None else NOT_CONFIRMED for r in waiter.results]

    async def close(self, flush_s: float = 10.0) -> int:
        """Flush what is queued and stop; returns how many messages stayed unflushed.

        Called after the server has drained, so no caller waits any more: flushing on the
        loop's thread keeps every delivery callback on that thread.
        """
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        return int(self._producer.flush(flush_s))
