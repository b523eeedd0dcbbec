"""The vote log on Kafka: an idempotent, acks=all confluent-kafka producer bridged to asyncio.

``append`` produces a batch of events and resolves once Kafka's delivery report of every
one of them is in (or a bound runs out): only then may a vote be acknowledged.

Delivery reports are served by one thread blocked in ``Producer.poll(timeout)``, which
waits in librdkafka without holding the GIL. Each report fills in its batch's result;
a batch whose last report came in is handed to the event loop together with every other
batch completed in the same poll round, with one ``call_soon_threadsafe``. So the loop
neither spins polling for reports nor is woken once per vote.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from commands.ports import Appended, AppendResult, NotAppended
from domain import EventCodec, VoteCast, event_key
from domain.asof import timestamp_ms

BUFFER_WAIT_S = 1.0  # how long a full local queue may hold a batch before backpressure
POLL_WAIT_S = 0.1  # how long one poll waits for reports (bounds how fast close() stops it)


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
    queue_max_messages: int = 200_000,
) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": linger_ms,
        "compression.type": compression,
        "delivery.timeout.ms": delivery_timeout_ms,
        "queue.buffering.max.messages": queue_max_messages,
        "batch.num.messages": 10_000,
        "client.id": "boleta-commands",
        **(extra or {}),
    }


class _Waiter:
    """Collects the delivery reports of one batch; ``on_done`` runs once, when all are in."""

    __slots__ = ("future", "lock", "on_done", "pending", "results")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, size: int, on_done: Callable[[_Waiter], None]
    ) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.results: list[AppendResult | None] = [None] * size
        self.pending = size
        self.on_done = on_done
        self.lock = threading.Lock()  # reports come from the poll thread, skips from the loop

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
        with self.lock:
            self.pending -= 1
            last = self.pending == 0
        if last:
            self.on_done(self)

    def wake(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


def _wake_all(waiters: list[_Waiter]) -> None:
    for waiter in waiters:
        waiter.wake()


class KafkaVoteLog:
    """Appends ``VoteCast`` events to the votes topic, keyed by ``domain.event_key``."""

    def __init__(self, config: dict[str, Any], topic: str, codec: EventCodec[VoteCast]) -> None:
        self._producer = Producer(config)
        self._topic = topic
        self._codec = codec
        self._headers: list[tuple[str, str | bytes | None]] = list(codec.headers)
        self._completed: list[_Waiter] = []  # appended by report callbacks in the poll thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = threading.Event()
        self._poller: threading.Thread | None = None

    def _serve_reports(self) -> None:
        """The poll thread: serve reports, then wake the loop once for the batches done."""
        poll, loop = self._producer.poll, self._loop
        assert loop is not None
        while self._running.is_set():
            poll(POLL_WAIT_S)
            if self._completed:
                done, self._completed = self._completed, []
                loop.call_soon_threadsafe(_wake_all, done)

    def _completed_on(self, waiter: _Waiter) -> None:
        if threading.current_thread() is self._poller:
            self._completed.append(waiter)
        else:  # a batch whose last vote was skipped on the loop itself
            waiter.wake()

    def _started(self) -> None:
        if self._poller is None:
            self._loop = asyncio.get_running_loop()
            self._running.set()
            self._poller = threading.Thread(
                target=self._serve_reports, name="kafka-delivery-reports", daemon=True
            )
            self._poller.start()

    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        """Produce ``events``; wait at most ``within_s`` seconds for Kafka to confirm them all."""
        if not events:
            return []
        self._started()
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop, len(events), self._completed_on)
        deadline = time.monotonic() + within_s
        produce, encode, topic, headers = (
            self._producer.produce,
            self._codec.encode,
            self._topic,
            self._headers,
        )
        full_until: float | None = None  # one bounded wait for the whole batch
        cast_at, stamp = None, 0  # a batch's votes share one cast_at: converted once
        for index, event in enumerate(events):
            value = encode(event)
            if event.cast_at is not cast_at:
                cast_at, stamp = event.cast_at, timestamp_ms(event.cast_at)
            report = partial(waiter.report, index)
            while True:
                try:
                    produce(
                        topic,
                        value=value,
                        key=event_key(event).encode(),
                        headers=headers,
                        # The message's time is its cast time (results as of a moment
                        # find their end of the log by it: domain.asof).
                        timestamp=stamp,
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
        if not waiter.future.done():
            # One timer, not wait_for(shield(...)): they cost three futures and a task
            # step per call. When it fires first, the votes still unconfirmed fail.
            timer = loop.call_later(max(0.0, deadline - time.monotonic()), waiter.wake)
            try:
                await waiter.future
            finally:
                timer.cancel()
        return [r if r is not None else NOT_CONFIRMED for r in waiter.results]

    async def close(self, flush_s: float = 10.0) -> int:
        """Flush what is queued and stop; returns how many messages stayed unflushed.

        Called after the server has drained, so no caller waits any more.
        """
        if self._poller is not None:
            self._running.clear()
            await asyncio.to_thread(self._poller.join)
        return int(self._producer.flush(flush_s))
