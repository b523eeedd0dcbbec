"""Projection figures: the raw anchors (consume and decode; ``insert_many``), catch-up of
a projection worker process, and a tallies rebuild, each on a topic the benchmark fills.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pymongo
import redis
from pymongo.collection import Collection

from boleta.settings import Settings
from domain import vote_cast_codec
from domain.projection import Delivered, audit_document
from domain.readmodel import AUDIT_COLLECTION, NEXT, TOTAL, state_collection, tallies_key
from loadtest.report import Measured
from projections.log_reader import end_offsets, replay, replay_consumer
from projections.mongo_sink import ensure_indexes, stored_state
from projections.rebuild import rebuild
from projections.redis_sink import RedisTallies

INSERT_CHUNK = 2000
POLL_S = 0.01


def raw_consume_decode(
    settings: Settings, topic: str, keep: bool = False
) -> tuple[Measured, list[list[Delivered]]]:
    """(events/s and this process's CPU, the batches if ``keep``) reading ``topic`` from
    offset 0. The CPU is the whole process's over the read (librdkafka's threads too)."""
    consumer = replay_consumer(settings.kafka_bootstrap, "bench-raw", settings.kafka_security)
    try:
        until = end_offsets(consumer, topic)
        kept: list[list[Delivered]] = []
        count = 0
        cpu, started = time.process_time(), time.perf_counter()
        for batch in replay(consumer, topic, vote_cast_codec(), until):
            count += len(batch)
            if keep:
                kept.append(batch)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        consumer.close()
    return Measured(count / elapsed, count, cpu), kept


def raw_insert_many(settings: Settings, batches: list[list[Delivered]], collection: str) -> float:
    """Docs/s inserting the audit documents of ``batches`` with the audit log's indexes."""
    documents = [audit_document(d) for batch in batches for d in batch if d.event is not None]
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(settings.mongo_url) as client:
        target: Collection[dict[str, Any]] = client[settings.mongo_db][collection]
        ensure_indexes(target)
        started = time.perf_counter()
        for i in range(0, len(documents), INSERT_CHUNK):
            target.insert_many(documents[i : i + INSERT_CHUNK], ordered=False)
        elapsed = time.perf_counter() - started
        client[settings.mongo_db].drop_collection(collection)
    return len(documents) / elapsed


def progress_rate(
    read: Callable[[], int],
    count: int,
    timeout_s: float,
    cpu: Callable[[], float],
    window: tuple[float, float] | None = None,
) -> Measured:
    """Events/s of a projection catching up to ``count``, and the CPU seconds (``cpu``, a
    reading of the worker's CPU time) it spent, both from its first progress to the end,
    so process start-up and the consumer group's join are not counted.

    ``window`` (fractions of ``count``): from the first reading at or past the first
    fraction to the first at or past the second, instead. For a worker that prepares a
    batch while the one before it is written (the board): at each reading it holds about
    one batch past what it committed, so the two ends cancel, where from the first
    progress to the end that batch's work would be missed."""
    deadline = time.monotonic() + timeout_s
    low, high = window or (0.0, 1.0)
    first: tuple[float, int, float] | None = None
    last: tuple[float, int, float] | None = None
    while True:
        done = read()
        now = time.perf_counter()
        if done and done >= low * count and first is None:
            first = (now, done, cpu())
        if done >= high * count and last is None:
            last = (now, done, cpu())
        if done >= count:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the projection reached {done} of {count} in {timeout_s:.0f}s")
        time.sleep(POLL_S)
    assert first is not None
    assert last is not None
    (started, already, cpu_at_start), (ended, reached, cpu_at_end) = first, last
    events = reached - already
    if window and events <= 0:
        raise RuntimeError(f"no progress between {low:.0%} and {high:.0%} of {count} events")
    return Measured(events / max(ended - started, POLL_S), events, cpu_at_end - cpu_at_start)


def tallies_total(settings: Settings) -> Callable[[], int]:
    client = redis.Redis.from_url(settings.redis_url)
    key = tallies_key(TOTAL, tag=settings.tallies_tag)
    return lambda: int(client.get(key) or 0)


def audit_progress(settings: Settings) -> Callable[[], int]:
    """The events the audit worker has applied, from its per-partition checkpoints (a few
    small documents). Counting the audit collection instead is no reading for a rate: on
    FerretDB each count of 20,000 documents took 1.2 s of its CPU, so polling it halved
    the rate it measured."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(settings.mongo_url)
    db = client[settings.mongo_db]
    return lambda: sum(o + 1 for o in stored_state(db, AUDIT_COLLECTION)[1].values())


def board_size(settings: Settings) -> Callable[[], int]:
    """The entries on the board: its partitions' committed sizes (a few small documents)."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(settings.mongo_url)
    states = client[settings.mongo_db][state_collection()]
    return lambda: sum(int(d["size"]) for d in states.find({}, {"size": 1}))


def audit_documents(settings: Settings) -> int:
    """The documents in the audit log (a full count: once, after a timed phase)."""
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(settings.mongo_url) as client:
        return int(client[settings.mongo_db][AUDIT_COLLECTION].count_documents({}))


def rebuild_tallies(settings: Settings) -> tuple[float, int]:
    """(seconds, messages) of a tallies rebuild of ``settings.topic`` (swapped in at the end)."""
    consumer = replay_consumer(settings.kafka_bootstrap, "bench-rebuild", settings.kafka_security)
    target = RedisTallies(
        redis.Redis.from_url(settings.redis_url),
        namespace=NEXT,
        tag=settings.tallies_tag,
        write_rate=False,
    )
    try:
        result = rebuild(consumer, settings.topic, vote_cast_codec(), target)
    finally:
        consumer.close()
    return result.seconds, result.messages
