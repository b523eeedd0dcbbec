"""The command service on the real broker: acknowledged votes are in the log, rejected ones
leave no trace, batches accept exactly their valid votes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from boleta import serve_commands
from boleta.serve_commands import build_vote_log
from boleta.settings import Settings
from commands.kafka_log import AppendResult, KafkaVoteLog
from domain import VoteCast, vote_cast_codec
from domain.asof import timestamp_ms
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.kafka_helpers import end_offsets, free_port, read_all


@dataclass
class Service:
    settings: Settings
    stub: voting_pb2_grpc.VotingServiceStub
    channel: grpc.aio.Channel


async def _running(settings: Settings) -> AsyncIterator[Service]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve_commands.serve(settings, stop))
    target = f"{settings.command_host}:{settings.command_port}"
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        yield Service(settings, voting_pb2_grpc.VotingServiceStub(channel), channel)
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.fixture
async def service(settings: Settings, topic: str) -> AsyncIterator[Service]:
    configured = settings.replace(topic=topic, command_port=free_port(), command_metrics_port=0)
    async for running in _running(configured):
        yield running


def vote(**overrides: str) -> voting_pb2.Vote:
    fields = {
        "vote_id": str(uuid.uuid4()),
        "band": "Green Ridge",
        "album": "Imbituva",
        "year": "2008",
        "rank": "7",
    }
    fields.update(overrides)
    return voting_pb2.Vote(**fields)


def violations(exc: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(exc)
    assert status is not None, "the error carries no rich status"
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        assert detail.Unpack(bad)
        found.update({v.field: v.description for v in bad.field_violations})
    return found


async def test_cast_vote_lands_on_the_topic_with_key_headers_and_body(service: Service) -> None:
    sent = vote(band="  Norrtälje  ", rank="2th", contest="")
    reply = await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=sent), timeout=10)

    (msg,) = read_all(service.settings, service.settings.topic)
    assert (msg.partition(), msg.offset()) == (reply.partition, reply.offset)
    assert msg.key() == sent.vote_id.encode()
    headers = dict(msg.headers())
    assert headers == {"event_type": b"VoteCast", "schema_version": b"1"}
    event = vote_cast_codec().decode(msg.value(), headers)
    assert (event.event_id, event.vote_id) == (reply.event_id, sent.vote_id)
    assert (event.band, event.album, event.year, event.rank) == ("Norrtälje", "Imbituva", 2008, 2)
    assert event.contest == "main"
    assert uuid.UUID(event.event_id).version == 7
    assert event.cast_at.tzinfo is not None


async def test_rejected_vote_names_every_field_and_leaves_no_trace(service: Service) -> None:
    before = end_offsets(service.settings, service.settings.topic)
    bad = vote(band="", year="1800", rank="first", vote_id="not-a-uuid")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=bad), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"band", "year", "rank", "vote_id"}
    assert "1900" in violations(info.value)["year"]
    assert end_offsets(service.settings, service.settings.topic) == before


async def test_missing_vote_is_invalid(service: Service) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await service.stub.CastVote(voting_pb2.CastVoteRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"vote"}


async def test_mixed_batch_accepts_exactly_the_valid_votes(service: Service) -> None:
    votes = [vote(), vote(year="3000"), vote(band="Mayfield"), vote(rank="0"), vote(album="\x00")]
    reply = await service.stub.CastVotes(voting_pb2.CastVotesRequest(votes=votes), timeout=10)
    kinds = [r.WhichOneof("outcome") for r in reply.results]
    assert kinds == ["accepted", "rejected", "accepted", "rejected", "rejected"]
    assert [v.field for v in reply.results[1].rejected.violations] == ["year"]
    assert reply.results[3].rejected.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    in_log = {m.key().decode() for m in read_all(service.settings, service.settings.topic)}
    assert in_log == {votes[0].vote_id, votes[2].vote_id}


async def test_oversized_batch_is_refused_whole(service: Service) -> None:
    before = end_offsets(service.settings, service.settings.topic)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await service.stub.CastVotes(
            voting_pb2.CastVotesRequest(votes=[vote() for _ in range(1001)]), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000" in violations(info.value)["votes"]
    assert end_offsets(service.settings, service.settings.topic) == before


async def test_same_vote_id_twice_is_logged_twice(service: Service) -> None:
    sent = vote()
    first = await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=sent), timeout=10)
    second = await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=sent), timeout=10)
    assert first.event_id != second.event_id
    keys = [m.key().decode() for m in read_all(service.settings, service.settings.topic)]
    assert keys == [sent.vote_id, sent.vote_id]


async def test_server_assigns_a_vote_id_when_absent(service: Service) -> None:
    reply = await service.stub.CastVote(
        voting_pb2.CastVoteRequest(vote=vote(vote_id="")), timeout=10
    )
    assert uuid.UUID(reply.vote_id).version == 4


async def test_health_and_reflection_are_served(service: Service) -> None:
    health = health_pb2_grpc.HealthStub(service.channel)
    reply = await health.Check(
        health_pb2.HealthCheckRequest(service="boleta.v1.VotingService"), timeout=5
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(service.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for response in stub.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in response.list_services_response.service}
    assert "boleta.v1.VotingService" in names


def unreachable(settings: Settings, topic: str, ack_timeout_s: float) -> Settings:
    """A command service whose broker address has nobody listening."""
    return settings.replace(
        topic=topic,
        command_port=free_port(),
        command_metrics_port=0,
        command_ack_timeout_s=ack_timeout_s,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
    )


async def test_unreachable_kafka_gives_unavailable_after_the_ack_timeout(
    settings: Settings, topic: str
) -> None:
    async for service in _running(unreachable(settings, topic, ack_timeout_s=1.0)):
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=vote()), timeout=120)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "retry with the same vote_id" in (info.value.details() or "")
        assert time.monotonic() - started >= 1.0, "answered before Kafka had its ack timeout"
    assert end_offsets(settings, topic) == {0: 0, 1: 0, 2: 0}


class WithinRecorder:
    """The real Kafka vote log, noting how long each append was allowed to wait."""

    def __init__(self, log: KafkaVoteLog) -> None:
        self.log = log
        self.within: list[float] = []

    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        self.within.append(within_s)
        return await self.log.append(events, within_s)

    async def close(self, flush_s: float = 10.0) -> int:
        return await self.log.close(flush_s)


async def test_the_server_waits_for_kafka_no_longer_than_the_client_deadline(
    settings: Settings, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 60 s ack timeout and a 2 s client deadline, the server waits < 2 s for Kafka.

    Whether the client then reads UNAVAILABLE or its own DEADLINE_EXCEEDED depends on how
    fast the machine is in the last 50 ms, so the test checks the server's bound instead.
    """
    recorders: list[WithinRecorder] = []

    def recorded(configured: Settings) -> WithinRecorder:
        recorders.append(WithinRecorder(build_vote_log(configured)))
        return recorders[-1]

    monkeypatch.setattr(serve_commands, "build_vote_log", recorded)
    async for service in _running(unreachable(settings, topic, ack_timeout_s=60.0)):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=vote()), timeout=2)
        assert info.value.code() in {
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        }
    (recorder,) = recorders
    (within,) = recorder.within
    # The deadline the server knows starts when the call arrives, so it ends a little
    # after the client's: the bound is the client's 2 s (less a margin), not the 60 s.
    assert within < 2.0
    assert end_offsets(settings, topic) == {0: 0, 1: 0, 2: 0}


async def test_token_is_required_when_configured(settings: Settings, topic: str) -> None:
    guarded = settings.replace(
        topic=topic, command_port=free_port(), command_metrics_port=0, command_token="s3cret"
    )
    async for service in _running(guarded):
        for metadata in ((), (("authorization", "Bearer wrong"),)):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await service.stub.CastVote(
                    voting_pb2.CastVoteRequest(vote=vote()), timeout=5, metadata=metadata
                )
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        ok = await service.stub.CastVote(
            voting_pb2.CastVoteRequest(vote=vote()),
            timeout=5,
            metadata=(("authorization", "Bearer s3cret"),),
        )
        assert ok.event_id
    assert len(read_all(settings, topic)) == 1


async def test_a_closed_or_unknown_contest_is_a_failed_precondition(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "contests": [
                    {
                        "slug": "main",
                        "strict": True,
                        "bands": [{"name": "Mayfield", "albums": ["Imbituva"]}],
                    },
                    {"slug": "2019", "closes_at": "2019-12-31T23:59:59Z"},
                ]
            }
        )
    )
    configured = settings.replace(
        topic=topic, command_port=free_port(), command_metrics_port=0, catalog_file=str(catalog)
    )
    async for service in _running(configured):
        ok = await service.stub.CastVote(
            voting_pb2.CastVoteRequest(vote=vote(band="mayfield", album="IMBITUVA")), timeout=10
        )
        for contest, code in (
            ("2019", grpc.StatusCode.FAILED_PRECONDITION),
            ("nope", grpc.StatusCode.FAILED_PRECONDITION),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await service.stub.CastVote(
                    voting_pb2.CastVoteRequest(vote=vote(contest=contest)), timeout=10
                )
            assert info.value.code() == code
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await service.stub.CastVote(
                voting_pb2.CastVoteRequest(vote=vote(band="Unknown Band")), timeout=10
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(info.value)) == {"band"}
    (msg,) = read_all(settings, topic)
    event = vote_cast_codec().decode(msg.value(), dict(msg.headers()))
    assert (event.band, event.album, event.vote_id) == ("Mayfield", "Imbituva", ok.vote_id)


async def test_each_message_is_stamped_with_its_own_cast_at(settings: Settings, topic: str) -> None:
    """Results as of a moment find their end of the log by the messages' timestamps
    (domain.asof): each is its vote's cast_at, in a batch whose votes share one instant
    and in one whose votes do not."""
    start = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=1)
    instants = [start] * 3 + [start + timedelta(milliseconds=ms) for ms in (1, 1, 2500, -7)]
    events = [
        VoteCast(
            event_id=str(uuid.uuid4()),
            vote_id=str(uuid.uuid4()),
            contest="main",
            band="Green Ridge",
            album="Imbituva",
            year=2008,
            rank=7,
            cast_at=at,
        )
        for at in instants
    ]
    log = build_vote_log(settings.replace(topic=topic))
    try:
        results = await log.append(events, 30)
    finally:
        await log.close()
    assert [type(r).__name__ for r in results] == ["Appended"] * len(events)
    stamps = {m.key().decode(): m.timestamp() for m in read_all(settings, topic)}
    assert stamps == {e.vote_id: (TIMESTAMP_CREATE_TIME, timestamp_ms(e.cast_at)) for e in events}
