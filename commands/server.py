"""The gRPC server: the voting service, health, reflection, limits and graceful shutdown."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from commands.handler import CastVoteHandler
from commands.metrics import CommandMetrics
from commands.observed import observed
from commands.service import VotingService
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVICE_NAME = voting_pb2.DESCRIPTOR.services_by_name["VotingService"].full_name
SERVER_OPTIONS = (
    ("grpc.so_reuseport", 1),  # processes can share the port
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_concurrent_streams", 1000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
)


def create_server(
    handler: CastVoteHandler,
    metrics: CommandMetrics,
    address: str,
    ack_timeout_s: float,
    token: str = "",
    tls: tuple[bytes, bytes] | None = None,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A server listening on ``address`` (SO_REUSEPORT on, so processes can share the port),
    with TLS when ``tls`` holds a PEM (private key, certificate chain)."""
    server = grpc.aio.server(
        options=SERVER_OPTIONS,
    )
    service = VotingService(handler, ack_timeout_s, metrics)
    voting_pb2_grpc.add_VotingServiceServicer_to_server(
        # The generated registration reads only these two attributes.
        cast(
            voting_pb2_grpc.VotingServiceServicer,
            SimpleNamespace(
                CastVote=observed("CastVote", service.CastVote, metrics, token),
                CastVotes=observed("CastVotes", service.CastVotes, metrics, token),
            ),
        ),
        server,
    )
    health_servicer = serve_health_and_reflection(server)
    if tls is not None:
        port = server.add_secure_port(address, grpc.ssl_server_credentials([tls]))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}: the port is taken or the address is wrong")
    return server, health_servicer


def serve_health_and_reflection(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """Adds health (``grpc.health.v1``) and server reflection to ``server``."""
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    return health_servicer
