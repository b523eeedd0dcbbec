"""Reading a topic back in tests: every message up to the current end offsets."""

from __future__ import annotations

import socket
import time
import uuid

from confluent_kafka import Consumer, Message, TopicPartition

from boleta.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "offsets"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
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
