"""Projection workers on the real stack: exact counts, dead letters, verify, rebuild, healing."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import pymongo
import pytest
import redis
from confluent_kafka import Consumer, TopicPartition
from rich.console import Console

from boleta import ops, serve_commands
from boleta.client import cast_batches, to_proto
from boleta.serve_projections import Model
from boleta.settings import Settings
from boleta.votefile import read_votes
from domain import vote_cast_codec
from domain.names import name_key
from domain.projection import Delivered
from domain.readmodel import LAYOUT, NEXT, contest_key, tallies_key
from projections.log_reader import replay_consumer
from projections.mongo_sink import MongoAudit, live_collection_name
from projections.rebuild import rebuild
from projections.redis_sink import RedisTallies
from proto.boleta.v1 import voting_pb2_grpc
from tests.integration.kafka_helpers import free_port, read_all
from tests.integration.projection_helpers import (
    log_fold,
    make_events,
    produce,
    produce_raw,
    running_worker,
    wait_for,
)
from tests.integration.test_commands_process import SEED

QUIET = Console(quiet=True)


def tallies(settings: Settings) -> RedisTallies:
    return RedisTallies(redis.Redis.from_url(settings.redis_url), tag=settings.tallies_tag)


def audit_count(settings: Settings) -> int:
    with pymongo.MongoClient(settings.mongo_url) as client:
        db = client[settings.mongo_db]
        return int(db[live_collection_name(db)].count_documents({}))


def caught_up(settings: Settings, total: int) -> bool:
    return tallies(settings).snapshot()["total"] == total and audit_count(settings) == total


async def _cast_seed(settings: Settings) -> int:
    stop = asyncio.Event()
    task = asyncio.create_task(serve_commands.serve(settings, stop))
    votes = [to_proto(v) for v in read_votes(SEED)]
    target = f"127.0.0.1:{settings.command_port}"
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        summary = await cast_batches(voting_pb2_grpc.VotingServiceStub(channel), votes)
    stop.set()
    await task
    return summary.accepted


async def test_seed_file_through_the_service_is_counted_exactly(isolated: Settings) -> None:
    settings = isolated.replace(command_port=free_port())
    assert await _cast_seed(settings) == 1000
    rows = json.loads(SEED.read_text())
    expected = collections.Counter(name_key(r["name"]) for r in rows)

    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):
        await asyncio.to_thread(wait_for, lambda: caught_up(settings, 1000), 90, "catch-up")
        snapshot = tallies(settings).snapshot()
        contest = snapshot["contests"][settings.default_contest]
        assert set(snapshot["contests"]) == {settings.default_contest}
        assert contest["bands"] == dict(expected)
        assert contest["bands"]["mayfield"] == 258
        assert contest["names"]["mayfield"] == "Mayfield"
        report = await asyncio.to_thread(ops.verify, settings, QUIET, 30)
    assert report.ok, report.differences
    assert report.facts["audit_documents"] == 1000


def test_poison_messages_go_to_the_dlq_and_counts_stay_exact(isolated: Settings) -> None:
    events = make_events(300, duplicate_every=7)
    produce(isolated, events[:150])
    produce_raw(isolated, b"\xff not json", [("event_type", b"VoteCast"), ("schema_version", b"1")])
    produce_raw(isolated, b"{}", [("event_type", b"VoteCast"), ("schema_version", b"99")])
    produce_raw(isolated, b'{"x": 1}', [("event_type", b"SomethingElse")])
    produce(isolated, events[150:])
    distinct = len({e.vote_id for e in events})

    with running_worker(isolated, Model.tallies), running_worker(isolated, Model.audit):
        wait_for(lambda: caught_up(isolated, distinct), 60, "catch-up")
        report = ops.verify(isolated, QUIET, 30)
    assert report.ok, report.differences
    assert log_fold(isolated).summary() == tallies(isolated).snapshot()

    dead = read_all(isolated, isolated.dlq_topic)
    # Both workers dead-letter what they cannot read: 3 poison messages, once per model.
    assert len(dead) == 6
    reasons = collections.Counter(dict(m.headers())["dlq_reason"].decode() for m in dead)
    assert sum(1 for r in reasons if r.startswith("malformed VoteCast v1")) == 1
    assert reasons["schema version 99 is not readable by this reader (current 1)"] == 2
    assert reasons["unknown event type 'SomethingElse'"] == 2
    assert {dict(m.headers())["dlq_worker"] for m in dead} == {
        f"{isolated.group_prefix}-tallies".encode(),
        f"{isolated.group_prefix}-audit".encode(),
    }


def test_a_wiped_tallies_model_heals_from_the_log(isolated: Settings) -> None:
    events = make_events(400)
    produce(isolated, events[:200])
    with running_worker(isolated, Model.tallies):
        wait_for(lambda: tallies(isolated).snapshot()["total"] == 200, 60, "first half")
        client = redis.Redis.from_url(isolated.redis_url)
        client.delete(*client.keys(f"boleta:{isolated.tallies_tag}:*"))  # Redis lost its data
        produce(isolated, events[200:])
        wait_for(lambda: tallies(isolated).snapshot()["total"] == 400, 60, "healing")
    assert tallies(isolated).snapshot() == log_fold(isolated).summary()


def test_rebuild_while_votes_arrive_ends_equal_to_the_live_model(isolated: Settings) -> None:
    events = make_events(6000, duplicate_every=11, contests=("main", "best-band-ever"))
    produce(isolated, events[:3000])
    keep_going = threading.Event()

    def trickle() -> None:
        for start in range(3000, 6000, 100):
            produce(isolated, events[start : start + 100])
            if keep_going.wait(0.02):
                return

    with running_worker(isolated, Model.tallies), running_worker(isolated, Model.audit):
        producer = threading.Thread(target=trickle)
        producer.start()
        first = ops.run_rebuild(isolated, Model.tallies, QUIET)
        second = ops.run_rebuild(isolated, Model.audit, QUIET)
        producer.join()
        distinct = len({e.vote_id for e in events})
        wait_for(lambda: caught_up(isolated, distinct), 90, "catch-up after rebuild")
        report = ops.verify(isolated, QUIET, 30)
    assert first.messages >= 3000
    assert second.messages >= 3000
    assert report.ok, report.differences
    live = tallies(isolated)
    assert live.snapshot() == log_fold(isolated).summary()
    assert live.counted_size() == distinct
    with pymongo.MongoClient(isolated.mongo_url) as client:
        db = client[isolated.mongo_db]
        assert live_collection_name(db).startswith("votes_"), "the audit log was not swapped"
        assert "votes" not in db.list_collection_names(), "the retired collection was not dropped"


def test_lag_is_written_where_grafana_reads_it(isolated: Settings) -> None:
    produce(isolated, make_events(50))
    with running_worker(isolated, Model.tallies):
        wait_for(lambda: tallies(isolated).snapshot()["total"] == 50, 60, "catch-up")
    client = redis.Redis.from_url(isolated.redis_url, decode_responses=True)
    lag = client.hgetall(tallies_key("lag", tag=isolated.tallies_tag))
    assert set(lag) <= {"0", "1", "2"}
    assert lag
    entries = client.xrange(tallies_key("rate", tag=isolated.tallies_tag))
    assert sum(int(fields["votes"]) for _, fields in entries) == 50
    assert int(entries[-1][1]["total"]) == 50


def test_workers_commit_offsets_for_lag_monitoring(isolated: Settings) -> None:
    produce(isolated, make_events(90))
    with running_worker(isolated, Model.tallies):
        wait_for(lambda: tallies(isolated).snapshot()["total"] == 90, 60, "catch-up")
    consumer = Consumer(
        {
            "bootstrap.servers": isolated.kafka_bootstrap,
            "group.id": f"{isolated.group_prefix}-tallies",
        }
    )
    committed = consumer.committed([TopicPartition(isolated.topic, p) for p in range(3)], 10)
    consumer.close()
    assert sum(tp.offset for tp in committed if tp.offset > 0) == 90


def test_wiped_models_heal_even_when_no_vote_arrives(isolated: Settings) -> None:
    produce(isolated, make_events(120, duplicate_every=9))
    with running_worker(isolated, Model.tallies), running_worker(isolated, Model.audit):
        distinct = log_fold(isolated).total
        wait_for(lambda: caught_up(isolated, distinct), 60, "catch-up")
        client = redis.Redis.from_url(isolated.redis_url)
        client.delete(*client.keys(f"boleta:{isolated.tallies_tag}:*"))  # Redis lost its data
        with pymongo.MongoClient(isolated.mongo_url) as mongo:
            mongo.drop_database(isolated.mongo_db)
        wait_for(lambda: caught_up(isolated, distinct), 30, "healing while idle")
        report = ops.verify(isolated, QUIET, 30)
    assert report.ok, report.differences


def test_an_audit_log_wiped_while_a_batch_is_written_heals_from_the_log(
    isolated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit database dropped inside a batch, after its documents and before its
    checkpoints (as the healing test above could do: its caught-up check may pass between
    the two). The batch's checkpoints must not outlive the wipe: they would say "applied"
    of documents that are gone, the worker would resume past them, and the audit log would
    stay empty for good."""
    batch = [Delivered(0, i, e) for i, e in enumerate(make_events(40))]
    with pymongo.MongoClient(isolated.mongo_url) as client:
        sink = MongoAudit(client[isolated.mongo_db])
        assert sink.positions() == {}
        assert sink.apply(batch[:20]) == 20
        write_timeline = MongoAudit._write_timeline

        def wiped_meanwhile(*args: Any) -> None:
            client.drop_database(isolated.mongo_db)
            write_timeline(*args)

        monkeypatch.setattr(MongoAudit, "_write_timeline", staticmethod(wiped_meanwhile))
        sink.apply(batch[20:])
        monkeypatch.undo()
        assert sink.stale(), "the worker must notice the wipe"
        assert sink.positions() == {}, "and resume from the start of the log"
        sink.apply(batch)
        assert sink.count() == 40


def test_a_model_of_the_layout_before_contests_is_replaced_from_the_log(
    isolated: Settings,
) -> None:
    """A tallies model written before per-contest keys (no layout mark) is deleted and
    rebuilt from the log by the worker, instead of being counted on top of."""
    produce(isolated, make_events(60, duplicate_every=7, contests=("main", "other")))
    client = redis.Redis.from_url(isolated.redis_url)
    tag = isolated.tallies_tag
    client.hset(tallies_key("meta", tag=tag), mapping={"instance": "old", "created_ms": 1})
    client.hset(tallies_key("checkpoint", tag=tag), mapping={0: 5, 1: 5, 2: 5})
    client.hset(tallies_key("bands", tag=tag), mapping={"Mayfield": 9})
    client.set(tallies_key("total", tag=tag), 9)
    with running_worker(isolated, Model.tallies):
        wait_for(lambda: tallies(isolated).snapshot()["total"] == log_fold(isolated).total, 60, "")
    assert tallies(isolated).snapshot() == log_fold(isolated).summary()
    assert client.hget(tallies_key("meta", tag=tag), "layout") == LAYOUT.encode()
    assert not client.exists(tallies_key("bands", tag=tag))


def test_a_model_of_the_layout_before_one_name_per_band_is_replaced_from_the_log(
    isolated: Settings,
) -> None:
    """A per-contest model counted by exact spelling (layout contests-1, before ADR 7) is
    deleted, every contest's keys with it, and rebuilt from the log under the names' keys."""
    produce(isolated, make_events(60, duplicate_every=7, contests=("main", "other")))
    client = redis.Redis.from_url(isolated.redis_url)
    tag = isolated.tallies_tag
    meta = {"instance": "old", "created_ms": 1, "layout": "contests-1"}
    client.hset(tallies_key("meta", tag=tag), mapping=meta)
    client.hset(tallies_key("checkpoint", tag=tag), mapping={0: 5, 1: 5, 2: 5})
    client.hset(tallies_key("contests", tag=tag), mapping={"main": 9, "gone": 1})
    client.hset(contest_key("main", "bands", tag=tag), mapping={"Mayfield": 9})
    client.hset(contest_key("gone", "bands", tag=tag), mapping={"Lien": 1})
    client.set(tallies_key("total", tag=tag), 10)
    with running_worker(isolated, Model.tallies):
        wait_for(lambda: tallies(isolated).snapshot()["total"] == log_fold(isolated).total, 60, "")
    assert tallies(isolated).snapshot() == log_fold(isolated).summary()
    assert client.hget(tallies_key("meta", tag=tag), "layout") == LAYOUT.encode()
    assert not client.hexists(contest_key("main", "bands", tag=tag), "Mayfield")
    assert not client.exists(contest_key("gone", "bands", tag=tag))


class RefusesOnce:
    """A rebuild target whose first swap is refused (the live model was ahead), as more
    votes arrive: the rebuild must read on from where it was, not from the start."""

    def __init__(self, target: RedisTallies, meanwhile: Callable[[], None]) -> None:
        self.target = target
        self.meanwhile = meanwhile
        self.refused = False

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        return self.target.apply(batch, lag)

    def swap_in(self) -> tuple[bool, str]:
        if self.refused:
            return self.target.swap_in()
        self.refused = True
        self.meanwhile()
        return False, "the live model is ahead (a test)"


def test_a_refused_swap_reads_on_from_where_the_rebuild_was(isolated: Settings) -> None:
    events = make_events(900, duplicate_every=7)
    produce(isolated, events[:600])
    client = redis.Redis.from_url(isolated.redis_url)
    target = RefusesOnce(
        RedisTallies(client, namespace=NEXT, tag=isolated.tallies_tag, write_rate=False),
        lambda: produce(isolated, events[600:]),
    )
    target.target.drop()
    consumer = replay_consumer(isolated.kafka_bootstrap, "test-rebuild")
    progress: list[tuple[int, int]] = []
    try:
        result = rebuild(
            consumer,
            isolated.topic,
            vote_cast_codec(),
            target,
            lambda d, t: progress.append((d, t)),
        )
    finally:
        consumer.close()
    assert result.swaps_tried == 2
    assert result.messages == 900, "each message is applied once, across both attempts"
    assert result.votes == len({e.vote_id for e in events})
    assert progress[-1] == (900, 900)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert tallies(isolated).snapshot() == log_fold(isolated).summary()
