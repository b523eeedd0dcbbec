"""The unary anchor: boleta's gRPC server minus the work.

A no-op ``VotingService`` on the same proto, built like the command service's server
(the same options, SO_REUSEPORT, health and reflection) but without its interceptor: it
answers ``CastVote`` with one fixed ``CastVoteResponse`` and ``CastVotes`` with one fixed
result per vote, each the size of boleta's (tracking code and receipt included, none of
them computed). Requests are still decoded and replies encoded by grpc, as in boleta.

The bench starts it as its own processes, like the command service, and drives it with
the same load generator: ``python -m loadtest.echo HOST:PORT``.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
from grpc_health.v1 import health_pb2

from boleta import aio
from commands.server import SERVER_OPTIONS, SERVICE_NAME, serve_health_and_reflection
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc

GRACE_S = 5.0
# The size of real replies, receipts included (a signed note's text, then its signature
# line: key name and base64 of the 4-byte key id and the 64-byte signature); nothing is
# hashed or signed here.
CODE = "5d2c0f1e" * 8
MOMENTS = "2026-11-27T09:22:00.123Z\n2026-11-27T09:23:00.123Z\n"
SIGNATURE = "\n\u2014 boleta.local/board " + "A" * 92 + "\n"
REPLY = voting_pb2.CastVoteResponse(
    event_id="019a1c2e-7b5d-7c3a-9f0e-2b4d6e8f0a1c",
    vote_id="6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
    partition=3,
    offset=1_234_567,
    cast_at="2026-11-27T09:22:00.123000Z",
    tracking_code=CODE,
    receipt=f"boleta receipt v1\nboleta.local/board/p3\n3\n1234567\n{CODE}\n{MOMENTS}{SIGNATURE}",
)
# In a batch, each result carries its tracking code and the response one receipt for all.
RESULT = voting_pb2.VoteResult(
    accepted=voting_pb2.CastVoteResponse(
        event_id=REPLY.event_id,
        vote_id=REPLY.vote_id,
        partition=REPLY.partition,
        offset=REPLY.offset,
        cast_at=REPLY.cast_at,
        tracking_code=CODE,
    )
)
BATCH_HEAD = f"boleta receipts v1\n{MOMENTS}"
BATCH_LINE = f"3 1234567 {CODE} boleta.local/board/p3\n"


class EchoService(voting_pb2_grpc.VotingServiceServicer):
    async def CastVote(
        self, request: voting_pb2.CastVoteRequest, context: grpc.aio.ServicerContext
    ) -> voting_pb2.CastVoteResponse:
        return REPLY

    async def CastVotes(
        self, request: voting_pb2.CastVotesRequest, context: grpc.aio.ServicerContext
    ) -> voting_pb2.CastVotesResponse:
        n = len(request.votes)
        receipt = BATCH_HEAD + BATCH_LINE * n + SIGNATURE
        return voting_pb2.CastVotesResponse(results=[RESULT] * n, receipt=receipt)


async def serve(address: str, stop: asyncio.Event | None = None) -> None:
    """Serve on ``address`` until SIGTERM/SIGINT (or ``stop``, when given)."""
    server = grpc.aio.server(options=SERVER_OPTIONS)
    voting_pb2_grpc.add_VotingServiceServicer_to_server(EchoService(), server)
    health = serve_health_and_reflection(server)
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await server.start()
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    await stop.wait()
    await server.stop(GRACE_S)


if __name__ == "__main__":
    aio.run(serve(sys.argv[1]))
