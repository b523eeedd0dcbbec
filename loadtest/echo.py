"""The unary anchor: boleta's gRPC server minus the work.

A no-op ``VotingService`` on the same proto, built like the command service's server
(the same options, SO_REUSEPORT, health and reflection) but without its interceptor: it
answers ``CastVote`` with one fixed ``CastVoteResponse`` and ``CastVotes`` with one fixed
result per vote. Requests are still decoded and replies encoded by grpc, as in boleta.

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
REPLY = voting_pb2.CastVoteResponse(  # the size of a real reply
    event_id="019a1c2e-7b5d-7c3a-9f0e-2b4d6e8f0a1c",
    vote_id="6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
    partition=3,
    offset=1_234_567,
    cast_at="2026-11-27T09:22:00.123456Z",
)
RESULT = voting_pb2.VoteResult(accepted=REPLY)


class EchoService(voting_pb2_grpc.VotingServiceServicer):
    async def CastVote(
        self, request: voting_pb2.CastVoteRequest, context: grpc.aio.ServicerContext
    ) -> voting_pb2.CastVoteResponse:
        return REPLY

    async def CastVotes(
        self, request: voting_pb2.CastVotesRequest, context: grpc.aio.ServicerContext
    ) -> voting_pb2.CastVotesResponse:
        return voting_pb2.CastVotesResponse(results=[RESULT] * len(request.votes))


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
