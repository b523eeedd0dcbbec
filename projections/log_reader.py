"""Reading the vote log from the start: what rebuild and verify replay."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from domain import EventCodec, UndecodableEvent, VoteCast
from domain.projection import Delivered


def replay_consumer(bootstrap: str, purpose: str, extra: dict[str, Any] | None = None) -> Consumer:
    """A consumer outside any live group (it only assigns), tuned for throughput.
    ``extra``: more librdkafka properties (e.g. SASL/SSL)."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"boleta-{purpose}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            "client.id": f"boleta-{purpose}",
            **(extra or {}),
        }
    )


def end_offsets(consumer: Consumer, topic: str, timeout_s: float = 10.0) -> dict[int, int]:
    """Each partition's end offset now (the offset the next message will get), all read
    within ``timeout_s`` (else librdkafka's ``KafkaException``, or ``TimeoutError``)."""
    deadline = time.monotonic() + timeout_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the end offsets of {topic} were not read in {timeout_s:g} s")
        return remaining

    metadata = consumer.list_topics(topic, timeout=left()).topics[topic]
    if metadata.error is not None:
        raise RuntimeError(f"topic {topic}: {metadata.error}")
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=left())[1]
        for p in metadata.partitions
    }


class EndOffsets:
    """Reads one topic's end offsets again and again with one consumer (outside any group),
    opened by ``open_consumer`` on the first read."""

    def __init__(self, open_consumer: Callable[[], Consumer], topic: str) -> None:
        self._open = open_consumer
        self._consumer: Consumer | None = None
        self._topic = topic

    def read(self, timeout_s: float) -> dict[int, int]:
        if self._consumer is None:
            self._consumer = self._open()
        return end_offsets(self._consumer, self._topic, timeout_s)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def decode_batch(codec: EventCodec[VoteCast], messages: list[Any]) -> list[Delivered]:
    batch = []
    for msg in messages:
        if msg.error() is not None:
            continue
        try:
            event: VoteCast | None = codec.decode_message(msg.value(), msg.headers())
        except UndecodableEvent:
            event = None  # the live worker dead-letters it; a replay only moves past it
        batch.append(Delivered(msg.partition() or 0, msg.offset() or 0, event))
    return batch


def replay(
    consumer: Consumer,
    topic: str,
    codec: EventCodec[VoteCast],
    until: dict[int, int],
    start: dict[int, int] | None = None,
    batch_size: int = 5000,
    deadline: float | None = None,
) -> Iterator[list[Delivered]]:
    """Batches of the log from ``start`` (default: the beginning) up to ``until`` (exclusive).
    ``deadline`` (``time.monotonic()``): raise ``TimeoutError`` once it has passed."""
    begin = start or {}
    remaining = {p for p, end in until.items() if end > begin.get(p, 0)}
    consumer.assign([TopicPartition(topic, p, begin.get(p, OFFSET_BEGINNING)) for p in remaining])
    # At most this many messages are left: asking for no more lets the last consume call
    # return as soon as they are in, not after its timeout (short replays: one round).
    position = {p: max(begin.get(p, 0), 0) for p in remaining}
    while remaining:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"the replay of {topic} did not end in time")
        left = sum(until[p] - position[p] for p in remaining)
        messages = consumer.consume(max(1, min(batch_size, left)), 0.5)
        batch = [
            d
            for d in decode_batch(codec, messages)
            if d.partition in remaining and d.offset < until[d.partition]
        ]
        for item in batch:
            position[item.partition] = max(position[item.partition], item.offset + 1)
            if item.offset + 1 >= until[item.partition]:
                remaining.discard(item.partition)
        if batch:
            yield batch
