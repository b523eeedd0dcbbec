"""Reading a topic back in tests: every message up to the current end offsets.

A topic just created is not readable at once: until its partitions' leadership reaches
the broker's metadata, reads answer ``NOT_LEADER_FOR_PARTITION`` (or the topic is not yet
known). Those answers are retried here, within a bound, instead of failing the test.
"""

from __future__ import annotations

import socket
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from boleta.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# What a fresh topic answers until its partition leaders are known: worth another try.
NOT_YET_LED = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
}
LEADERS_WAIT_S = 60.0


class TopicNotLed(Exception):
    """The topic, or one of its partitions, has no leader the broker knows of yet."""


def _read_end_offsets(consumer: Consumer, topic: str) -> dict[int, int]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    if metadata.error is not None or not metadata.partitions:
        raise TopicNotLed(f"topic {topic}: {metadata.error or 'no partitions yet'}")
    if any(p.leader < 0 for p in metadata.partitions.values()):
        raise TopicNotLed(f"topic {topic}: a partition has no leader yet")
    ends = {}
    for p in metadata.partitions:
        try:
            ends[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        except KafkaException as exc:
            if exc.args[0].code() not in NOT_YET_LED:
                raise
            raise TopicNotLed(f"topic {topic} partition {p}: {exc.args[0].name()}") from exc
    return ends


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Each partition's end offset, once the topic's partition leaders answer."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "offsets"})
    deadline = time.monotonic() + LEADERS_WAIT_S
    try:
        while True:
            try:
                return _read_end_offsets(consumer, topic)
            except TopicNotLed as exc:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no leader in {LEADERS_WAIT_S} s: {exc}") from exc
                time.sleep(0.2)
    finally:
        consumer.close()


def read_all(settings: Settings, topic: str) -> list[Message]:
    """Every message of ``topic`` up to its end offsets now."""
    ends = end_offsets(settings, topic)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
    remaining = {p for p, end in ends.items() if end > 0}
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    try:
        while remaining:
            assert time.monotonic() < deadline, f"timed out reading {topic}; left: {remaining}"
            for msg in consumer.consume(1000, timeout=0.2):
                assert msg.error() is None, msg.error()
                messages.append(msg)
                if msg.offset() + 1 >= ends[msg.partition()]:
                    remaining.discard(msg.partition())
    finally:
        consumer.close()
    return messages
