"""Backpressure of the command service on the real broker: too many votes in flight, and a
full producer queue, are answered RESOURCE_EXHAUSTED and leave nothing in the log.

Votes are kept in flight without slowing the broker: the producer lingers 10 s before it
sends a batch (``BOLETA_KAFKA_LINGER_MS``), so the first call's votes wait in the service
while the next calls come in. When they get there is read from the service's own gauge of
calls being handled, not guessed from a sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from boleta.settings import Settings
from commands.kafka_log import BUFFER_WAIT_S
from proto.boleta.v1 import voting_pb2
from tests.integration.kafka_helpers import free_port, read_all
from tests.integration.test_commands import Service, _running, vote

LINGER_MS = 10_000  # how long the producer holds votes before it sends them
IN_FLIGHT_WAIT_S = 60.0


def calls_in_flight(settings: Settings) -> float:
    """The service's ``boleta_grpc_inflight_calls`` gauge, from its /metrics."""
    url = f"http://{settings.metrics_host}:{settings.command_metrics_port}/metrics"
    for line in httpx.get(url, timeout=10).text.splitlines():
        if line.startswith("boleta_grpc_inflight_calls "):
            return float(line.split()[1])
    raise AssertionError("the service exports no boleta_grpc_inflight_calls gauge")


async def held_in_flight(
    service: Service, votes: list[voting_pb2.Vote]
) -> grpc.aio.UnaryUnaryCall[voting_pb2.CastVotesRequest, voting_pb2.CastVotesResponse]:
    """A CastVotes call of ``votes``, returned once the service is handling it."""
    call = service.stub.CastVotes(voting_pb2.CastVotesRequest(votes=votes), timeout=120)
    deadline = time.monotonic() + IN_FLIGHT_WAIT_S
    while await asyncio.to_thread(calls_in_flight, service.settings) < 1:
        assert time.monotonic() < deadline, "the service never was handling the call"
        assert not call.done(), "the call ended before it was seen in flight"
        await asyncio.sleep(0.05)
    return call


def lingering(settings: Settings, topic: str, **changes: object) -> Settings:
    return settings.replace(
        topic=topic,
        command_port=free_port(),
        command_metrics_port=free_port(),
        command_ack_timeout_s=60.0,
        kafka_linger_ms=LINGER_MS,
        kafka_delivery_timeout_ms=LINGER_MS + 50_000,
        **changes,
    )


def accepted_ids(reply: voting_pb2.CastVotesResponse) -> list[str]:
    return [r.accepted.vote_id for r in reply.results if r.HasField("accepted")]


@pytest.fixture
async def service(
    settings: Settings, topic: str, request: pytest.FixtureRequest
) -> AsyncIterator[Service]:
    """The command service with the producer lingering and the changes ``request`` names."""
    async for running in _running(lingering(settings, topic, **request.param)):
        yield running


@pytest.mark.parametrize("service", [{"command_max_inflight": 100}], indirect=True)
async def test_votes_beyond_max_inflight_are_refused_and_leave_no_trace(service: Service) -> None:
    first = [vote() for _ in range(100)]  # exactly the limit: taken
    holding = await held_in_flight(service, first)

    excess = [vote() for _ in range(10)]
    batch = await service.stub.CastVotes(voting_pb2.CastVotesRequest(votes=excess), timeout=30)
    assert [r.WhichOneof("outcome") for r in batch.results] == ["rejected"] * 10
    for result in batch.results:
        assert result.rejected.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert result.rejected.reason == "resource_exhausted"
    single = vote()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=single), timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many votes in flight" in (info.value.details() or "")

    assert accepted_ids(await holding) == [v.vote_id for v in first]
    # The limit counts votes in flight: once the first call is answered, room is back.
    again = await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=single), timeout=60)
    assert again.vote_id == single.vote_id

    keys = [m.key().decode() for m in read_all(service.settings, service.settings.topic)]
    assert sorted(keys) == sorted([v.vote_id for v in first] + [single.vote_id])


@pytest.mark.parametrize("service", [{"kafka_queue_max_messages": 10}], indirect=True)
async def test_a_full_producer_queue_waits_a_bounded_time_then_pushes_back(
    service: Service,
) -> None:
    """The producer's queue holds 10 votes and they linger 10 s: an 11th vote waits for
    room for BUFFER_WAIT_S, then is answered RESOURCE_EXHAUSTED (retry with the same
    vote_id); had it waited for the queue to drain, it would have been taken."""
    first = [vote() for _ in range(10)]
    holding = await held_in_flight(service, first)

    eleventh = vote()
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=eleventh), timeout=60)
    waited = time.monotonic() - started
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "Kafka queue is full" in (info.value.details() or "")
    assert "retry later with the same vote_id" in (info.value.details() or "")
    assert waited >= BUFFER_WAIT_S, f"pushed back after {waited:.2f} s, without waiting"

    # A batch that overflows the queue: the votes that fit are acknowledged, the rest
    # pushed back one by one.
    assert accepted_ids(await holding) == [v.vote_id for v in first]
    second = [vote() for _ in range(12)]
    reply = await service.stub.CastVotes(voting_pb2.CastVotesRequest(votes=second), timeout=120)
    kinds = [r.WhichOneof("outcome") for r in reply.results]
    assert kinds == ["accepted"] * 10 + ["rejected"] * 2
    assert {r.rejected.reason for r in reply.results[10:]} == {"resource_exhausted"}

    # The client retries with the same vote_id once the queue has room: taken, once.
    retried = await service.stub.CastVote(voting_pb2.CastVoteRequest(vote=eleventh), timeout=60)
    assert retried.vote_id == eleventh.vote_id

    acknowledged = [v.vote_id for v in first] + accepted_ids(reply) + [eleventh.vote_id]
    keys = [m.key().decode() for m in read_all(service.settings, service.settings.topic)]
    assert sorted(keys) == sorted(acknowledged), "the log differs from the acknowledged votes"
    refused = {v.vote_id for v in second[10:]}
    assert not refused & set(keys)
