"""The real broker: an idempotent, acks=all producer and a consumer reading it back."""

from __future__ import annotations

import threading
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from boleta.settings import Settings
from boleta.stack import kafka
from tests.integration.kafka_helpers import end_offsets


def test_round_trip_keeps_key_headers_and_order(settings: Settings, topic: str) -> None:
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
        }
    )
    reports: list[tuple[str | None, int, int]] = []

    def on_delivery(err: object, msg: object) -> None:
        reports.append((str(err) if err else None, msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    sent = []
    for i in range(50):
        key = str(uuid.uuid4())
        value = f'{{"n": {i}}}'.encode()
        headers = [("event_type", b"VoteCast"), ("schema_version", b"1")]
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
        sent.append((key, value))
    assert producer.flush(30) == 0
    assert len(reports) == 50
    assert all(err is None and offset >= 0 for err, _, offset in reports)

    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"{topic}.reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    received = []
    while len(received) < 50:
        msgs = consumer.consume(100, timeout=10)
        assert msgs, "timed out reading back what was produced"
        for msg in msgs:
            assert msg.error() is None
            received.append(msg)
    consumer.close()

    by_key = {m.key().decode(): m for m in received}
    assert set(by_key) == {k for k, _ in sent}
    for key, value in sent:
        msg = by_key[key]
        assert msg.value() == value
        assert msg.headers() == [("event_type", b"VoteCast"), ("schema_version", b"1")]
    # Within one partition the log keeps production order.
    for partition in range(3):
        values = [int(m.value()[6:-1]) for m in received if m.partition() == partition]
        assert values == sorted(values)


def test_end_offsets_wait_for_a_topic_created_meanwhile(settings: Settings, unique: str) -> None:
    """A topic not yet led (here: not yet created) is waited for, not read as empty."""
    name = f"{unique}.late"
    creator = threading.Timer(1.0, kafka.create_topics, (settings, 3, name))
    creator.start()
    try:
        assert end_offsets(settings, name) == {0: 0, 1: 0, 2: 0}
    finally:
        creator.join()
        kafka.admin(settings).delete_topics([name], operation_timeout=30)
