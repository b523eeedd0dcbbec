"""One vote per voter on the real stack: the command service, Kafka, both workers, Redis
and FerretDB. The sinks apply any delivery schedule exactly as the oracle's first vote of
each voter in log order (tests/unit/test_voter_laws.py is the pure side of this)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pymongo
import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from pymongo import AsyncMongoClient
from rich.console import Console

from boleta import ops, serve_commands
from boleta.serve_projections import Model
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.projection import audit_document
from domain.readmodel import voters_collection
from projections.mongo_sink import MongoAudit, live_collection_name
from projections.redis_sink import RedisTallies
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from queries.votes import MongoVotes, VoteFilter
from tests.integration.kafka_helpers import free_port, read_all
from tests.integration.projection_helpers import log_fold, running_worker, wait_for
from tests.unit.test_projection_laws import Log, Schedule
from tests.unit.test_voter_laws import decided, oracle, oracle_voters, voter_logs_and_schedules

Doc = dict[str, Any]
QUIET = Console(quiet=True)
CATALOG = {"contests": [{"slug": "jury", "one_vote_per_voter": True}, {"slug": "main"}]}


# ------------------------------------------------------------------ the sinks, any schedule


@pytest.fixture(scope="module")
def clients(settings: Settings) -> Iterator[tuple[redis.Redis, pymongo.MongoClient[Doc]]]:
    r = redis.Redis.from_url(settings.redis_url)
    m: pymongo.MongoClient[Doc] = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    yield r, m
    r.close()
    m.close()


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=voter_logs_and_schedules())
def test_both_sinks_count_each_voters_first_vote_under_any_schedule(
    clients: tuple[redis.Redis, pymongo.MongoClient[Doc]], case: tuple[Log, Schedule]
) -> None:
    log, schedule = case
    r, m = clients
    name = f"v{uuid.uuid4().hex[:12]}"
    tallies = RedisTallies(r, tag=f"{{{name}}}", write_rate=False)
    tallies.load()
    db = m[name]
    try:
        audit = MongoAudit(db)
        for batch in schedule:
            assert tallies.apply(batch) is not None
            assert audit.apply(batch) is not None
        expected = oracle(log)
        assert tallies.snapshot() == expected
        voters = oracle_voters(log)
        for contest in ("jury", "fans-choice", "main"):
            assert tallies.voters(contest) == voters.get(contest, {})
        stored = {d["vote_id"]: d for d in db[live_collection_name(db)].find()}
        assert {v: d.get("superseded_by") for v, d in stored.items()} == {
            vote_id: (None if winner == vote_id else winner)
            for vote_id, (_, winner) in decided(log).items()
        }
        for vote_id, (item, _) in decided(log).items():
            document = audit_document(item)
            assert stored[vote_id].get("voter_id") == document.get("voter_id")
        assert audit.count() == expected["total"], "invariant 3: counted documents = total"
    finally:
        tallies.drop()
        m.drop_database(name)


# ------------------------------------------------------------------ through the service


async def serving(settings: Settings) -> AsyncIterator[voting_pb2_grpc.VotingServiceStub]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve_commands.serve(settings, stop))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{settings.command_port}") as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        yield voting_pb2_grpc.VotingServiceStub(channel)
    stop.set()
    await asyncio.wait_for(task, 30)


def ballot(vote_id: str, voter: str, band: str, contest: str = "jury") -> voting_pb2.Vote:
    return voting_pb2.Vote(
        vote_id=vote_id,
        contest=contest,
        voter_id=voter,
        band=band,
        album="Imbituva",
        year="2008",
        rank="1",
    )


def counted_audit(settings: Settings) -> int:
    with pymongo.MongoClient(settings.mongo_url) as client:
        return MongoAudit(client[settings.mongo_db]).count()


async def test_a_voter_counts_once_through_the_service_kafka_and_both_workers(
    isolated: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    settings = isolated.replace(command_port=free_port(), catalog_file=str(catalog))
    a1, a2, b1, m1, m2 = (str(uuid.uuid4()) for _ in range(5))
    async for stub in serving(settings):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CastVote(voting_pb2.CastVoteRequest(vote=ballot(a1, "", "X")), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "voter_id" in (info.value.details() or "")
        votes = [
            ballot(a1, "alice", "X"),
            ballot(a2, "alice", "Y"),  # a later vote of alice: superseded
            ballot(a1, "alice", "X"),  # a retry of her first: the same vote
            ballot(b1, "bob", "Y"),
            ballot(m1, "alice", "X", "main"),  # no policy: both of alice's votes count
            ballot(m2, "alice", "Y", "main"),
        ]
        reply = await stub.CastVotes(voting_pb2.CastVotesRequest(votes=votes), timeout=10)
        assert all(r.HasField("accepted") for r in reply.results), reply
    messages = read_all(settings, settings.topic)
    alice = [m for m in messages if m.key() == b"jury:alice"]
    assert len(alice) == 3, "alice's jury votes are keyed by contest and voter"
    assert len({m.partition() for m in alice}) == 1
    codec = vote_cast_codec()
    first = codec.decode(alice[0].value(), dict(alice[0].headers()))
    assert (first.vote_id, first.voter_id, first.one_vote_per_voter) == (a1, "alice", True)

    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):
        tallies = RedisTallies(redis.Redis.from_url(settings.redis_url), tag=settings.tallies_tag)

        def caught_up() -> bool:
            return tallies.snapshot()["total"] == 4 and counted_audit(settings) == 4

        await asyncio.to_thread(wait_for, caught_up, 60, "both workers")
    snapshot = tallies.snapshot()
    assert snapshot["contests"]["jury"]["bands"] == {"x": 1, "y": 1}  # by key (ADR 7)
    assert snapshot["contests"]["main"]["bands"] == {"x": 1, "y": 1}
    assert tallies.voters("jury") == {"alice": a1, "bob": b1}
    assert tallies.voters("main") == {}
    assert log_fold(settings).summary() == snapshot, "the pure fold of the log agrees"
    with pymongo.MongoClient(settings.mongo_url) as client:
        db = client[settings.mongo_db]
        stored = {d["vote_id"]: d for d in db[live_collection_name(db)].find()}
        voters = {
            d["_id"]: d["vote_id"] for d in db[voters_collection(live_collection_name(db))].find()
        }
    assert {v: d.get("superseded_by") for v, d in stored.items()} == {
        a1: None,
        a2: a1,
        b1: None,
        m1: None,
        m2: None,
    }
    assert voters == {"jury:alice": a1, "jury:bob": b1}
    # The audit log's reader (the auditor routes'; the public ones show a pseudonym in place
    # of the voter) has the voter and the mark, one vote at a time and in pages.
    client: AsyncMongoClient[Doc] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    try:
        api = MongoVotes(client, settings.mongo_db)
        later = await api.by_vote_id(a2)
        assert later is not None
        assert (later.voter_id, later.superseded_by) == ("alice", a1)
        page = await api.page(VoteFilter(), 10, None)
        shown = {v.vote_id: (v.voter_id, v.superseded_by) for v in page.votes}
        assert shown[a2] == ("alice", a1)
        assert shown[a1] == ("alice", None)
    finally:
        await client.close()

    # Now that the results count alice, the command side refuses her repeat (best effort)
    # and still takes a retry of her counted vote and a new voter's first vote.
    async for stub in serving(settings):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CastVote(
                voting_pb2.CastVoteRequest(vote=ballot(str(uuid.uuid4()), "alice", "Z")),
                timeout=10,
            )
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert a1 in (info.value.details() or "")
        retry = await stub.CastVote(voting_pb2.CastVoteRequest(vote=ballot(a1, "alice", "X")))
        assert retry.vote_id == a1
        carol = await stub.CastVote(
            voting_pb2.CastVoteRequest(vote=ballot(str(uuid.uuid4()), "carol", "Z"))
        )
        assert carol.event_id
    assert len(read_all(settings, settings.topic)) == len(messages) + 2, "refused: not logged"

    # Rebuilt from the log, both models count the same voters and mark the same votes.
    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):

        def carol_counted() -> bool:
            return tallies.snapshot()["total"] == 5 and counted_audit(settings) == 5

        await asyncio.to_thread(wait_for, carol_counted, 60, "carol's vote counted")
        for model in (Model.tallies, Model.audit):
            await asyncio.to_thread(ops.run_rebuild, settings, model, QUIET)
        report = await asyncio.to_thread(ops.verify, settings, QUIET, 30)
    assert report.ok, report.differences
    assert tallies.voters("jury") == {"alice": a1, "bob": b1, "carol": carol.vote_id}
    with pymongo.MongoClient(settings.mongo_url) as client:
        db = client[settings.mongo_db]
        assert live_collection_name(db).startswith("votes_"), "the audit log was rebuilt"
        marks = {d["vote_id"]: d.get("superseded_by") for d in db[live_collection_name(db)].find()}
    assert marks == {a1: None, a2: a1, b1: None, m1: None, m2: None, carol.vote_id: None}
