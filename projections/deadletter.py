"""The dead-letter topic: undecodable messages go there, with the reason, before the worker
moves past them; each one once per worker (consumer group), whatever the crash points.

A dead letter names its source message (topic, partition, offset) and the worker that sent
it in its headers. A worker killed after dead-lettering but before its read model's
checkpoint moved gets the same poison again when it resumes from the checkpoint (so does
one whose read model was wiped and re-seeks to 0). So the first time a worker has poison
to send after it was assigned partitions, it reads from the topic itself which sources its
group has dead-lettered; from then on it adds what it sends. The record of a dead letter is
the dead letter: nothing can come between producing it and recording it. The topic holds
only the rare poison, and it is read once per assignment, only when poison arrives.

A transactional producer would not do: the worker resumes from its read model's checkpoint,
not from offsets a Kafka transaction could commit together with the dead letters.
Limits: a dead letter past the topic's retention is forgotten (a replay from offset 0 sends
it again), and a dead letter still in flight when another worker reads the topic (a
rebalance mid-send) can be sent twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

Source = tuple[str, int, int]  # the poison message's topic, partition and offset
Headers = list[tuple[str, str | bytes | None]]  # a Kafka message's headers
REASON, WORKER = "dlq_reason", "dlq_worker"
TOPIC, PARTITION, OFFSET = "dlq_source_topic", "dlq_source_partition", "dlq_source_offset"
READ_TIMEOUT_S = 60.0


def dead_letter_headers(
    original: Sequence[tuple[str, str | bytes | None]], reason: str, source: Source, worker: str
) -> Headers:
    """The poison message's own headers, then ours (a later header of the same name wins)."""
    topic, partition, offset = source
    return [
        *original,
        (REASON, reason.encode()),
        (TOPIC, topic.encode()),
        (PARTITION, str(partition).encode()),
        (OFFSET, str(offset).encode()),
        (WORKER, worker.encode()),
    ]


def sent_by(
    headers: Iterable[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
    worker: str,
) -> Source | None:
    """The source of a dead letter ``worker`` sent; None for anything else on the topic."""
    found = dict(headers or [])
    try:
        if found.get(WORKER) != worker.encode():
            return None
        return found[TOPIC].decode(), int(found[PARTITION]), int(found[OFFSET])  # type: ignore[union-attr, arg-type]
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return None


def source_of(msg: Message) -> Source:
    return msg.topic() or "", msg.partition() or 0, msg.offset() or 0


class DeadLetters:
    def __init__(self, config: dict[str, Any], topic: str, worker: str) -> None:
        self._config = config
        self._producer = Producer({**config, "enable.idempotence": True, "acks": "all"})
        self.topic = topic
        self._worker = worker
        self._sent: set[Source] | None = None  # None: to be read from the topic first

    def forget(self) -> None:
        """The partitions changed: another worker of the group may have dead-lettered them."""
        self._sent = None

    def send(self, poison: Sequence[tuple[Message, str]], flush_s: float = 30.0) -> int:
        """Produce every poison message this worker has not dead-lettered yet, with its
        reason, and wait until Kafka has them all. Returns how many were produced."""
        if self._sent is None:
            self._sent = self._read_sent()
        fresh = [(msg, reason) for msg, reason in poison if source_of(msg) not in self._sent]
        failures: list[str] = []

        def report(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for msg, reason in fresh:
            original = cast("Headers", msg.headers() or [])
            headers = dead_letter_headers(original, reason, source_of(msg), self._worker)
            self._producer.produce(
                self.topic, value=msg.value(), key=msg.key(), headers=headers, on_delivery=report
            )
        remaining = self._producer.flush(flush_s)
        if remaining or failures:
            raise KafkaException(
                f"dead-letter topic {self.topic} did not take {remaining or len(failures)} "
                f"messages: {failures[:1]}"
            )
        self._sent.update(source_of(msg) for msg, _ in fresh)
        return len(fresh)

    def _read_sent(self, timeout_s: float = READ_TIMEOUT_S) -> set[Source]:
        """The sources this worker's group has dead-lettered: the topic read to its end."""
        consumer = Consumer(
            {
                **self._config,
                "group.id": f"{self._worker}-dlq-check-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        try:
            metadata = consumer.list_topics(self.topic, timeout=10).topics[self.topic]
            if metadata.error is not None:
                raise KafkaException(metadata.error)
            ends = {}
            for p in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p), 10)
                if high > low:
                    ends[p] = high
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in ends])
            sent: set[Source] = set()
            deadline = time.monotonic() + timeout_s
            while ends:
                if time.monotonic() > deadline:
                    raise KafkaException(f"could not read {self.topic} within {timeout_s} s")
                for msg in consumer.consume(1000, 0.5):
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(err)
                    source = sent_by(msg.headers(), self._worker)
                    if source is not None:
                        sent.add(source)
                    if (msg.offset() or 0) + 1 >= ends.get(msg.partition() or 0, 0):
                        ends.pop(msg.partition() or 0, None)
            return sent
        finally:
            consumer.close()

    def close(self) -> None:
        self._producer.flush(10)
