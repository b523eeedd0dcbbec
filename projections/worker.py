"""The projection worker: consume a batch, decode it, dead-letter the undecodable, flush the
batch to the read model (which stores its checkpoint with the data), and only then move on.

Positions come from the read model, never from Kafka's committed offsets: on assignment
the worker seeks each partition to one past the model's checkpoint (offset 0 when there is
none, so a lost model heals itself from the log). Offsets are committed to Kafka only so
that lag can be watched with the usual tools.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from domain import EventCodec, UndecodableEvent, VoteCast
from domain.projection import Delivered
from projections.deadletter import DeadLetters
from projections.metrics import ProjectionMetrics

log = structlog.get_logger("boleta.projections")
RETRY_MAX_S = 5.0
IDLE_CHECK_S = 2.0
CRASH_EXIT_CODE = 75  # the exit of a worker told to crash after dead-lettering (tests only)


class Sink(Protocol):
    name: str

    def positions(self) -> dict[int, int]: ...

    def stale(self) -> bool: ...

    def apply(
        self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None
    ) -> int | None: ...


# What librdkafka may hold ahead of the worker (by default up to 64 MB queued plus 50 MB of
# fetches in flight), bounded for the 200 MB RSS target. A slow sink (the audit log) keeps its
# queue full, so a small one is enough; the tallies worker drains 10k queued messages faster
# than the broker refills them, so it gets more messages and smaller partition fetches
# (catching up on 400k events: 62k events/s at 145 MB peak RSS with the small prefetch,
# 99-108k at 168 MB with the large one; docs/performance.md). So does the board worker: its
# batches (then of 10,000) emptied the small queue each time (25k -> 58k events/s on 200k).
SMALL_PREFETCH: dict[str, Any] = {
    "queued.max.messages.kbytes": 8 * 1024,
    "queued.min.messages": 10_000,
    "fetch.max.bytes": 8 * 1024 * 1024,
}
LARGE_PREFETCH: dict[str, Any] = {
    "queued.max.messages.kbytes": 24 * 1024,
    "queued.min.messages": 100_000,
    "fetch.max.bytes": 8 * 1024 * 1024,
    "max.partition.fetch.bytes": 512 * 1024,
}


def consumer_config(
    bootstrap: str,
    group: str,
    extra: dict[str, Any] | None = None,
    prefetch: dict[str, Any] = SMALL_PREFETCH,
) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": True,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "fetch.wait.max.ms": 50,
        **prefetch,
        "client.id": group,
        **(extra or {}),
    }


class ProjectionWorker:
    def __init__(
        self,
        consumer: Consumer,
        sink: Sink,
        codec: EventCodec[VoteCast],
        topic: str,
        dead_letters: DeadLetters,
        metrics: ProjectionMetrics,
        stop: threading.Event,
        batch_size: int = 2000,
        batch_timeout_s: float = 0.02,
        crash_after_dead_letters: int = 0,
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._codec = codec
        self._topic = topic
        self._dlq = dead_letters
        self._metrics = metrics
        self._stop = stop
        self._batch_size = batch_size
        self._batch_timeout_s = batch_timeout_s
        # Tests only: exit hard right after this many batches' dead letters are in the DLQ,
        # before the batch is applied (its checkpoint does not move). 0: never.
        self._crash_after_dead_letters = crash_after_dead_letters
        self._dead_letter_batches = 0
        self.assigned: list[int] = []
        self._last_idle_check = time.monotonic()

    # -- positions ---------------------------------------------------------------------
    def _retry(self, what: str, action: Any) -> Any:
        delay = 0.1
        while True:
            try:
                return action()
            except Exception as exc:
                if self._stop.is_set():
                    raise
                self._metrics.sink_errors.inc()
                log.warning(
                    "retrying", what=what, error=str(exc), model=self._sink.name, in_s=delay
                )
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = self._retry("read checkpoints", self._sink.positions)
        for tp in partitions:
            tp.offset = positions.get(tp.partition, OFFSET_BEGINNING)
        consumer.assign(partitions)
        self._dlq.forget()  # another worker of the group may have dead-lettered these
        self.assigned = sorted(tp.partition for tp in partitions)
        log.info(
            "assigned",
            model=self._sink.name,
            positions={tp.partition: tp.offset for tp in partitions},
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        consumer.unassign()
        self.assigned = []
        log.info("revoked", model=self._sink.name, partitions=[tp.partition for tp in partitions])

    def _resync(self) -> None:
        """The model changed under us (wiped, or swapped by a rebuild): seek to its positions."""
        self._metrics.resyncs.inc()
        positions = self._retry("read checkpoints", self._sink.positions)
        for tp in self._consumer.assignment():
            self._consumer.seek(
                TopicPartition(
                    tp.topic, tp.partition, positions.get(tp.partition, OFFSET_BEGINNING)
                )
            )
        log.warning("read model changed; re-seeked", model=self._sink.name, positions=positions)

    # -- the loop ----------------------------------------------------------------------
    def _decode(self, messages: list[Message]) -> tuple[list[Delivered], list[tuple[Message, str]]]:
        batch: list[Delivered] = []
        poison: list[tuple[Message, str]] = []
        decode = self._codec.decode_message
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise RuntimeError(f"fatal consumer error: {err}")
                log.warning("consumer error", error=str(err))
                continue
            partition, offset = msg.partition() or 0, msg.offset() or 0
            try:
                event = decode(msg.value(), cast("list[tuple[str, bytes]]", msg.headers()))
            except UndecodableEvent as exc:
                poison.append((msg, exc.reason))
                batch.append(Delivered(partition, offset, None))
            else:
                batch.append(Delivered(partition, offset, event))
        return batch, poison

    def _dead_letter(self, poison: list[tuple[Message, str]]) -> None:
        sent = self._retry("dead-letter", lambda: self._dlq.send(poison))
        self._metrics.dead_lettered.inc(sent)
        for msg, reason in poison:
            log.warning(
                "dead-lettered", partition=msg.partition(), offset=msg.offset(), reason=reason
            )
        if len(poison) > sent:
            log.info("already dead-lettered, not sent again", messages=len(poison) - sent)
        self._dead_letter_batches += 1
        if self._dead_letter_batches == self._crash_after_dead_letters:
            log.warning("exiting hard after dead-lettering, before the checkpoint (a test)")
            os._exit(CRASH_EXIT_CODE)

    def lag(self) -> dict[int, int]:
        assignment = self._consumer.assignment()
        if not assignment:
            return {}
        behind: dict[int, int] = {}
        for tp in self._consumer.position(assignment):
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                behind[tp.partition] = max(0, high - tp.offset)
        return behind

    def _idle_check(self) -> None:
        """While no votes arrive, look now and then whether the model was wiped or swapped,
        so it heals without waiting for the next vote."""
        now = time.monotonic()
        if now - self._last_idle_check < IDLE_CHECK_S or not self.assigned:
            return
        self._last_idle_check = now
        if self._retry("check the read model", self._sink.stale):
            self._resync()

    def step(self) -> int:
        """Consume and apply one batch; returns the number of messages handled."""
        messages = self._consumer.consume(self._batch_size, self._batch_timeout_s)
        if not messages:
            self._idle_check()
            return 0
        handled = len(messages)
        batch, poison = self._decode(messages)
        del messages  # the raw messages are not needed while the batch is applied (peak RSS)
        if poison:
            self._dead_letter(poison)
        if not batch:
            return handled
        lag = self.lag()
        started = time.perf_counter()
        applied = self._retry("apply batch", lambda: self._sink.apply(batch, lag))
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        if applied is None:
            self._resync()
            return handled
        self._metrics.applied.inc(applied)
        self._metrics.messages.inc(len(batch))
        for partition, behind in lag.items():
            self._metrics.lag(partition, behind)
        self._consumer.commit(asynchronous=True)  # for lag monitoring only
        return handled

    def run(self) -> None:
        self._consumer.subscribe(
            [self._topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        log.info("projecting", model=self._sink.name, topic=self._topic)
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            self._consumer.close()
            self._dlq.close()
            log.info("stopped", model=self._sink.name)
