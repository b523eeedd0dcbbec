"""Projection figures: catch-up of tallies and audit on N events next to their raw anchors.

``uv run python -m loadtest.projection_bench --events 100000`` with the local stack up.
Everything runs on private names (topic, hash tag, groups, database), cleaned up after.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from typing import Any

import pymongo
import redis
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from boleta import settings as settings_mod
from boleta.serve_projections import Model, build_worker
from boleta.stack import kafka
from commands.kafka_log import producer_config
from domain import vote_cast_codec
from domain.projection import audit_document
from domain.readmodel import NEXT
from loadtest.ingest import events as make_events
from projections.log_reader import end_offsets, replay, replay_consumer
from projections.mongo_sink import ensure_indexes
from projections.rebuild import rebuild
from projections.redis_sink import RedisTallies


def fill_topic(settings: settings_mod.Settings, count: int) -> None:
    codec = vote_cast_codec()
    producer = Producer(producer_config(settings.kafka_bootstrap, 20, 60_000, "lz4"))
    for event in make_events(count):
        while True:
            try:
                producer.produce(
                    settings.topic,
                    key=event.vote_id.encode(),
                    value=codec.encode(event),
                    headers=codec.headers,
                )
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(120) == 0


def raw_consume_decode(settings: settings_mod.Settings) -> tuple[float, list[Any]]:
    consumer = replay_consumer(settings.kafka_bootstrap, "bench-raw")
    started = time.perf_counter()
    batches = list(
        replay(consumer, settings.topic, vote_cast_codec(), end_offsets(consumer, settings.topic))
    )
    elapsed = time.perf_counter() - started
    consumer.close()
    count = sum(len(b) for b in batches)
    return count / elapsed, batches


def raw_insert_many(settings: settings_mod.Settings, batches: list[Any]) -> float:
    documents = [[audit_document(d) for d in batch] for batch in batches]
    with pymongo.MongoClient(settings.mongo_url) as client:
        collection = client[settings.mongo_db]["raw"]
        ensure_indexes(collection)
        started = time.perf_counter()
        for chunk in documents:
            for i in range(0, len(chunk), 2000):
                collection.insert_many(chunk[i : i + 2000], ordered=False)
        elapsed = time.perf_counter() - started
    return sum(len(d) for d in documents) / elapsed


def catch_up(settings: settings_mod.Settings, model: Model, count: int) -> float:
    stop = threading.Event()
    worker = build_worker(settings, model, stop, CollectorRegistry())
    probe_redis = redis.Redis.from_url(settings.redis_url)
    probe_mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(settings.mongo_url)

    def done() -> bool:
        if model is Model.tallies:
            return int(probe_redis.get(f"boleta:{settings.tallies_tag}:total") or 0) >= count
        return probe_mongo[settings.mongo_db]["votes"].estimated_document_count() >= count

    thread = threading.Thread(target=worker.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    while not done():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join(30)
    return count / elapsed


def rebuild_tallies(settings: settings_mod.Settings) -> float:
    consumer = replay_consumer(settings.kafka_bootstrap, "bench-rebuild")
    target = RedisTallies(
        redis.Redis.from_url(settings.redis_url),
        namespace=NEXT,
        tag=settings.tallies_tag,
        write_rate=False,
    )
    result = rebuild(consumer, settings.topic, vote_cast_codec(), target)
    consumer.close()
    return result.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    base = settings_mod.load()
    name = f"bench{uuid.uuid4().hex[:8]}"
    settings = base.replace(
        topic=f"{name}.votes",
        dlq_topic=f"{name}.dlq",
        group_prefix=name,
        tallies_tag=f"{{{name}}}",
        mongo_db=name,
        tallies_metrics_port=0,
        audit_metrics_port=0,
    )
    kafka.create_topics(base, base.partitions, settings.topic, settings.dlq_topic)
    try:
        fill_topic(settings, args.events)
        raw_rate, batches = raw_consume_decode(settings)
        insert_rate = raw_insert_many(settings, batches)
        tallies_rate = catch_up(settings, Model.tallies, args.events)
        audit_rate = catch_up(settings, Model.audit, args.events)
        rebuild_s = rebuild_tallies(settings)
        raw_s = args.events / raw_rate
        rows = [
            ("raw consume+decode", f"{raw_rate:,.0f} events/s", ""),
            ("tallies catch-up", f"{tallies_rate:,.0f} events/s", f"{tallies_rate / raw_rate:.0%}"),
            ("raw insert_many", f"{insert_rate:,.0f} docs/s", ""),
            ("audit catch-up", f"{audit_rate:,.0f} events/s", f"{audit_rate / insert_rate:.0%}"),
            ("tallies rebuild", f"{rebuild_s:.1f} s", f"{rebuild_s / raw_s:.1f}x of {raw_s:.1f} s"),
        ]
        print(f"events: {args.events}")
        for name, figure, ratio in rows:
            print(f"{name:<20} {figure:>18}  {ratio}")
    finally:
        kafka.admin(base).delete_topics([settings.topic, settings.dlq_topic])
        client = redis.Redis.from_url(base.redis_url)
        for key in client.scan_iter(match=f"boleta:{{{name}}}*"):
            client.delete(key)
        with pymongo.MongoClient(base.mongo_url) as mongo:
            mongo.drop_database(name)


if __name__ == "__main__":
    main()
