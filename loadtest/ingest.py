"""The ingest anchor: one Python process producing encoded ``VoteCast`` events with
confluent-kafka, with the command service's producer settings, awaiting every report.

Also fills topics for the projection and rebuild figures (the same code path, so the
anchor and the data the projections read are produced alike).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from confluent_kafka import Producer

from boleta.demo import generate
from boleta.settings import Settings
from commands.handler import new_event_id
from commands.kafka_log import producer_config
from domain import VoteCast, vote_cast_codec
from domain.validation import rank_field
from loadtest.report import Measured

CHUNK = 50_000


def events(count: int, seed: int = 7) -> Iterator[VoteCast]:
    """``count`` accepted-looking events with the demo's skewed bands and Unicode names."""
    now = datetime.now(UTC)
    demo = generate(min(count, 5000), seed)
    ranks = [rank_field(v.rank) for v in demo]
    for i in range(count):
        vote, rank = demo[i % len(demo)], ranks[i % len(demo)]
        assert isinstance(rank, int), rank
        yield VoteCast(
            event_id=new_event_id(now),
            vote_id=str(uuid.uuid4()),
            contest="main",
            band=vote.name,
            album=vote.album,
            year=int(vote.year),
            rank=rank,
            cast_at=now,
        )


def raw_produce(settings: Settings, topic: str, count: int) -> Measured:
    """Votes/s for one Python process producing ``count`` encoded events to ``topic``, and
    the CPU it spent producing them.

    Events are encoded in chunks before the clock runs for that chunk: the anchor is the
    produce path (produce, poll, delivery reports), as in the command service. Its CPU is
    this process's (librdkafka's threads included) over the call, less the encoding.
    """
    codec = vote_cast_codec()
    producer = Producer(
        producer_config(
            settings.kafka_bootstrap,
            settings.kafka_linger_ms,
            max(settings.kafka_delivery_timeout_ms, 60_000),
            settings.kafka_compression,
            extra=settings.kafka_security,
        )
    )
    delivered = 0

    def report(err: object, _msg: object) -> None:
        nonlocal delivered
        delivered += err is None

    produce, poll = producer.produce, producer.poll
    headers: list[tuple[str, str | bytes | None]] = list(codec.headers)
    stream = events(count)
    elapsed = encoding = 0.0
    cpu = time.process_time()
    while True:
        encoding -= time.thread_time()
        chunk = [(e.vote_id.encode(), codec.encode(e)) for e in itertools.islice(stream, CHUNK)]
        encoding += time.thread_time()
        if not chunk:
            break
        started = time.perf_counter()
        for key, value in chunk:
            while True:
                try:
                    produce(topic, value=value, key=key, headers=headers, on_delivery=report)
                    break
                except BufferError:
                    poll(0.01)
            poll(0)
        elapsed += time.perf_counter() - started
    started = time.perf_counter()
    producer.flush(120)
    elapsed += time.perf_counter() - started
    cpu = time.process_time() - cpu - encoding
    if delivered != count:
        raise RuntimeError(f"only {delivered} of {count} events were delivered to {topic}")
    return Measured(count / elapsed, count, cpu)
