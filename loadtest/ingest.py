"""Ingest figures: raw confluent-kafka produce rate vs votes/s through the gRPC service.

``uv run python -m loadtest.ingest --votes 50000`` against a running stack and command
service. The raw anchor produces the same encoded events with the same producer settings.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import grpc
from confluent_kafka import Producer

from boleta import settings as settings_mod
from commands.handler import new_event_id
from commands.kafka_log import producer_config
from domain import VoteCast, vote_cast_codec
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc


def events(count: int) -> list[VoteCast]:
    now = datetime.now(UTC)
    return [
        VoteCast(
            event_id=new_event_id(now),
            vote_id=str(uuid.uuid4()),
            contest="main",
            band=f"Band {i % 13}",
            album=f"Album {i % 29}",
            year=2008,
            rank=1 + i % 10,
            cast_at=now,
        )
        for i in range(count)
    ]


def raw_produce(settings: settings_mod.Settings, count: int) -> float:
    """Votes/s for one Python process producing the encoded events and awaiting all reports."""
    codec = vote_cast_codec()
    payloads = [(e.vote_id.encode(), codec.encode(e)) for e in events(count)]
    producer = Producer(
        producer_config(
            settings.kafka_bootstrap,
            settings.kafka_linger_ms,
            settings.kafka_delivery_timeout_ms,
            settings.kafka_compression,
        )
    )
    delivered = 0

    def report(err: object, _msg: object) -> None:
        nonlocal delivered
        delivered += err is None

    started = time.perf_counter()
    for key, value in payloads:
        while True:
            try:
                producer.produce(
                    settings.topic, value=value, key=key, headers=codec.headers, on_delivery=report
                )
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - started
    assert delivered == count, f"only {delivered} of {count} delivered"
    return count / elapsed


def _vote() -> voting_pb2.Vote:
    return voting_pb2.Vote(
        vote_id=str(uuid.uuid4()), band="Mayfield", album="Imbituva", year="2008", rank="1st"
    )


async def unary(target: str, count: int, concurrency: int) -> tuple[float, float, float]:
    """(votes/s, p50 ms, p99 ms) for ``concurrency`` callers of CastVote."""
    latencies: list[float] = []
    per_caller = count // concurrency
    async with grpc.aio.insecure_channel(target) as channel:
        stub = voting_pb2_grpc.VotingServiceStub(channel)

        async def caller() -> None:
            for _ in range(per_caller):
                request = voting_pb2.CastVoteRequest(vote=_vote())
                started = time.perf_counter()
                await stub.CastVote(request, timeout=30)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000


async def batched(target: str, count: int, batch: int, concurrency: int = 4) -> float:
    """Votes/s for CastVotes with ``batch`` votes per call, ``concurrency`` calls in flight."""
    requests = [
        voting_pb2.CastVotesRequest(votes=[_vote() for _ in range(batch)])
        for _ in range(count // batch)
    ]
    accepted = 0
    async with grpc.aio.insecure_channel(target) as channel:
        stub = voting_pb2_grpc.VotingServiceStub(channel)
        queue = iter(requests)

        async def caller() -> None:
            nonlocal accepted
            for request in queue:
                reply = await stub.CastVotes(request, timeout=60)
                accepted += sum(r.HasField("accepted") for r in reply.results)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    assert accepted == len(requests) * batch, f"only {accepted} accepted"
    return accepted / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=50_000)
    parser.add_argument("--unary-votes", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    settings = settings_mod.load()
    target = f"{settings.command_host}:{settings.command_port}"
    raw = raw_produce(settings, args.votes)
    print(f"raw produce (1 Python process):     {raw:10.0f} votes/s")
    rate = asyncio.run(batched(target, args.votes, args.batch))
    print(f"CastVotes, batches of {args.batch}:   {rate:10.0f} votes/s  ({rate / raw:.0%} of raw)")
    rate, p50, p99 = asyncio.run(unary(target, args.unary_votes, args.concurrency))
    print(
        f"CastVote, {args.concurrency} concurrent callers:   {rate:10.0f} votes/s  "
        f"p50 {p50:.1f} ms  p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
