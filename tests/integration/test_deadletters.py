"""Dead letters on the real broker: each poison message once per worker, across restarts
of the sender and replays of the log (projections.deadletter)."""

from __future__ import annotations

import time
import uuid

import redis
from confluent_kafka import Consumer, Message, TopicPartition

from boleta.serve_projections import Model
from boleta.settings import Settings
from domain.readmodel import MODEL_KEYS, tallies_key
from projections.deadletter import DeadLetters, sent_by
from projections.redis_sink import RedisTallies
from tests.integration.kafka_helpers import read_all
from tests.integration.projection_helpers import (
    make_events,
    produce,
    produce_raw,
    running_worker,
    wait_for,
)

V1 = [("event_type", b"VoteCast"), ("schema_version", b"1")]


def poison(settings: Settings, count: int) -> list[tuple[Message, str]]:
    """``count`` undecodable messages produced onto the topic, as a worker receives them."""
    for i in range(count):
        produce_raw(settings, f"not json {i}".encode(), V1, key=f"poison-{i}".encode())
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(settings.topic, p, 0) for p in range(3)])
    messages: list[Message] = []
    deadline = time.monotonic() + 30
    try:
        while len(messages) < count:
            assert time.monotonic() < deadline, f"read {len(messages)} of {count} poison"
            messages += [m for m in consumer.consume(100, 0.2) if m.error() is None]
    finally:
        consumer.close()
    return [(m, "malformed") for m in messages]


def dead_letters(settings: Settings, worker: str) -> DeadLetters:
    return DeadLetters({"bootstrap.servers": settings.kafka_bootstrap}, settings.dlq_topic, worker)


def test_a_restarted_sender_does_not_dead_letter_again(isolated: Settings) -> None:
    bad = poison(isolated, 4)
    first = dead_letters(isolated, "w-tallies")
    assert first.send(bad[:3]) == 3
    assert first.send(bad) == 1  # what it sent is remembered
    first.close()
    restarted = dead_letters(isolated, "w-tallies")  # a new process: reads the DLQ first
    assert restarted.send(bad) == 0
    restarted.forget()  # a new assignment: reads it again
    assert restarted.send(bad) == 0
    other = dead_letters(isolated, "w-audit")  # another model dead-letters its own copy
    assert other.send(bad) == 4
    restarted.close()
    other.close()
    dead = read_all(isolated, isolated.dlq_topic)
    assert len(dead) == 8
    sources = sorted((isolated.topic, m.partition(), m.offset()) for m, _ in bad)
    for worker in ("w-tallies", "w-audit"):
        assert sorted(s for m in dead if (s := sent_by(m.headers(), worker))) == sources


def test_a_wiped_model_replays_the_log_without_dead_lettering_again(isolated: Settings) -> None:
    events = make_events(200)
    produce(isolated, events[:100])
    poison(isolated, 3)
    produce(isolated, events[100:])

    def total() -> int:
        client = redis.Redis.from_url(isolated.redis_url)
        return int(RedisTallies(client, tag=isolated.tallies_tag).snapshot()["total"])

    with running_worker(isolated, Model.tallies):
        wait_for(lambda: total() == 200, 60, "catch-up")
        assert len(read_all(isolated, isolated.dlq_topic)) == 3
        client = redis.Redis.from_url(isolated.redis_url)
        client.delete(*(tallies_key(k, tag=isolated.tallies_tag) for k in MODEL_KEYS))
        produce(isolated, make_events(50))
        wait_for(lambda: total() == 250, 60, "healing from offset 0, past the poison again")
    assert len(read_all(isolated, isolated.dlq_topic)) == 3
