"""A gRPC client of the command service: cast votes in batches, retrying what may be retried."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc

from boleta.votefile import SeedVote
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc

RETRYABLE = {"unavailable", "resource_exhausted"}
# Called with each reply's accepted votes, in order, and the reply's signed receipt over
# them ("" from a service without the board).
OnAccepted = Callable[[list[voting_pb2.CastVoteResponse], str], None]


@dataclass
class CastSummary:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    acknowledged: list[str] = field(default_factory=list)

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


def to_proto(vote: SeedVote) -> voting_pb2.Vote:
    return voting_pb2.Vote(
        vote_id=vote.vote_id or str(uuid.uuid4()),  # fixed before sending: retries reuse it
        contest=vote.contest,
        band=vote.name,
        album=vote.album,
        year=vote.year,
        rank=vote.rank,
        voter_id=vote.voter_id,
    )


def channel(target: str, token: str = "", tls_roots: bytes | None = None) -> grpc.aio.Channel:
    """A channel to the command service: TLS when ``tls_roots`` (PEM) is given, and the
    bearer token on every call when ``token`` is (over TLS, or a local connection)."""
    options = [("grpc.max_send_message_length", 8 * 1024 * 1024)]
    if tls_roots is not None:
        creds = grpc.ssl_channel_credentials(root_certificates=tls_roots)
        if token:
            creds = grpc.composite_channel_credentials(
                creds, grpc.access_token_call_credentials(token)
            )
        return grpc.aio.secure_channel(target, creds, options=options)
    if token:
        call_creds = grpc.access_token_call_credentials(token)
        creds = grpc.composite_channel_credentials(grpc.local_channel_credentials(), call_creds)
        return grpc.aio.secure_channel(target, creds, options=options)
    return grpc.aio.insecure_channel(target, options=options)


async def cast_batches(
    stub: voting_pb2_grpc.VotingServiceStub,
    votes: Sequence[voting_pb2.Vote],
    batch_size: int = 500,
    attempts: int = 8,
    timeout_s: float = 30.0,
    on_progress: Callable[[int], None] | None = None,
    concurrency: int = 4,
    on_accepted: OnAccepted | None = None,
) -> CastSummary:
    """Cast ``votes`` with ``CastVotes``; retry UNAVAILABLE/RESOURCE_EXHAUSTED with the same
    ids. ``on_accepted`` sees each reply's accepted votes and receipt as it arrives."""
    summary = CastSummary()
    gate = asyncio.Semaphore(concurrency)

    async def one_batch(batch: list[voting_pb2.Vote]) -> None:
        async with gate:
            pending = batch
            for attempt in range(attempts):
                retry: list[voting_pb2.Vote] = []
                try:
                    reply = await stub.CastVotes(
                        voting_pb2.CastVotesRequest(votes=pending), timeout=timeout_s
                    )
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in (
                        grpc.StatusCode.UNAVAILABLE,
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                    ):
                        raise
                    retry = list(pending)
                else:
                    accepted = []
                    for vote, result in zip(pending, reply.results, strict=True):
                        if result.HasField("accepted"):
                            summary.accepted += 1
                            summary.acknowledged.append(result.accepted.vote_id)
                            accepted.append(result.accepted)
                        elif result.rejected.reason in RETRYABLE and attempt + 1 < attempts:
                            retry.append(vote)
                        else:
                            reason = result.rejected.reason
                            summary.rejected[reason] += 1
                            summary.examples.setdefault(reason, result.rejected.message)
                    if accepted and on_accepted:
                        on_accepted(accepted, reply.receipt)
                if on_progress:
                    on_progress(len(pending) - len(retry))
                if not retry:
                    return
                summary.retries += len(retry)
                pending = retry
                await asyncio.sleep(min(0.2 * 2**attempt, 3.0))
            summary.rejected["unavailable"] += len(pending)
            summary.examples.setdefault("unavailable", "gave up after retries")

    batches = [list(votes[i : i + batch_size]) for i in range(0, len(votes), batch_size)]
    await asyncio.gather(*(one_batch(b) for b in batches))
    return summary
