"""Composition root of the command service: settings -> Kafka log, board receipts -> handler
-> gRPC server."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from grpc_health.v1 import health_pb2
from prometheus_client import CollectorRegistry, start_http_server

from boleta import aio, logs
from boleta.board_keys import NoteSigner, sign_receipt, sign_receipts
from boleta.board_secrets import board_pseudonyms, board_signer, checkpoint_origin
from boleta.catalog import load_catalog
from boleta.heap import freeze_startup_objects
from boleta.settings import Settings
from commands.handler import CastVoteHandler, utc_now
from commands.kafka_log import KafkaVoteLog, producer_config
from commands.metrics import CommandMetrics
from commands.receipts import Receipts
from commands.redis_voters import RedisCountedVoters
from commands.server import SERVICE_NAME, create_server
from domain import vote_cast_codec
from domain.board import Receipt

GRACE_S = 10.0
log = structlog.get_logger("boleta.commands")


def load_tls(settings: Settings) -> tuple[bytes, bytes] | None:
    """The gRPC server's PEM (key, certificate chain), or None for plaintext."""
    if not settings.command_tls_cert:
        return None
    return Path(settings.command_tls_key).read_bytes(), Path(settings.command_tls_cert).read_bytes()


def clock(settings: Settings) -> Callable[[], datetime]:
    """The clock that stamps cast_at: the host's, shifted by ``clock_offset_ms`` (tests)."""
    if not settings.clock_offset_ms:
        return utc_now
    offset = timedelta(milliseconds=settings.clock_offset_ms)
    return lambda: utc_now() + offset


class BoardReceiptSigner:
    """The receipt signer port (commands/ports.py) over the board's key."""

    def __init__(self, signer: NoteSigner) -> None:
        self._signer = signer

    def sign_receipt(self, receipt: Receipt) -> str:
        return sign_receipt(self._signer, receipt)

    def sign_receipts(self, receipts: Sequence[Receipt]) -> str:
        return sign_receipts(self._signer, receipts)

    def __repr__(self) -> str:
        return f"BoardReceiptSigner({self._signer!r})"  # the public verifier key only


def build_receipts(settings: Settings) -> Receipts:
    """Receipts signed with the board's key, tracking codes under the board's pseudonym
    secret: both read by reference (boleta/board_secrets.py), as the board worker reads
    them, so a tracking code is the leaf the board will hold."""
    return Receipts(
        board_pseudonyms(settings),
        partial(checkpoint_origin, settings),
        timedelta(seconds=settings.board_publish_within_s),
        BoardReceiptSigner(board_signer(settings)),
    )


def vote_log_config(settings: Settings) -> dict[str, Any]:
    """The command service's producer configuration (acks=all, idempotent)."""
    return producer_config(
        settings.kafka_bootstrap,
        linger_ms=settings.kafka_linger_ms,
        delivery_timeout_ms=settings.kafka_delivery_timeout_ms,
        compression=settings.kafka_compression,
        extra=settings.kafka_security,
        queue_max_messages=settings.kafka_queue_max_messages,
    )


def build_vote_log(settings: Settings) -> KafkaVoteLog:
    return KafkaVoteLog(vote_log_config(settings), settings.topic, vote_cast_codec())


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or until ``stop`` is set, when given), then drain.

    Draining stops taking calls, lets in-flight votes finish (acknowledged or failed),
    then flushes the producer.
    """
    registry = CollectorRegistry()
    metrics = CommandMetrics(registry)
    if settings.command_metrics_port:
        start_http_server(settings.command_metrics_port, settings.metrics_host, registry)
    receipts = build_receipts(settings)  # first: a missing secret stops the start
    vote_log = build_vote_log(settings)
    catalog = load_catalog(settings)
    # One vote per voter: the read model's counted voters, asked only for such contests.
    voters = (
        RedisCountedVoters(settings.redis_url, settings.tallies_tag)
        if catalog is not None and catalog.counts_voters()
        else None
    )
    handler = CastVoteHandler(
        vote_log,
        settings.default_contest,
        catalog,
        settings.command_max_inflight,
        clock(settings),
        voters=voters,
        receipts=receipts,
    )
    address = f"{settings.command_host}:{settings.command_port}"
    server, health = create_server(
        handler,
        metrics,
        address,
        settings.command_ack_timeout_s,
        settings.command_token,
        load_tls(settings),
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    freeze_startup_objects()
    await server.start()
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "command service listening",
        address=address,
        topic=settings.topic,
        tls=bool(settings.command_tls_cert),
        token=bool(settings.command_token),
        board=settings.board_origin,
        **({"clock_offset_ms": settings.clock_offset_ms} if settings.clock_offset_ms else {}),
    )
    await stop.wait()

    log.info("draining", grace_s=GRACE_S, inflight=handler.inflight)
    await health.enter_graceful_shutdown()
    await server.stop(GRACE_S)
    unflushed = await vote_log.close(GRACE_S)
    if voters is not None:
        await voters.close()
    log.info("stopped", unflushed=unflushed)


def main(settings: Settings) -> None:
    logs.configure()
    aio.run(serve(settings))
