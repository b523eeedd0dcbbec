"""Composition root of a projection worker: settings -> consumer, read model, DLQ -> worker."""

from __future__ import annotations

import signal
import threading
from enum import StrEnum
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog
from confluent_kafka import Consumer
from prometheus_client import CollectorRegistry, start_http_server

from boleta import logs
from boleta.catalog import load_catalog
from boleta.heap import freeze_startup_objects
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.projection import windows
from projections.deadletter import DeadLetters
from projections.metrics import ProjectionMetrics
from projections.windowed import Windowed
from projections.worker import (
    LARGE_PREFETCH,
    SMALL_PREFETCH,
    ProjectionWorker,
    Sink,
    consumer_config,
)

if TYPE_CHECKING:
    import pymongo.database
    import redis

    from projections.board_sink import MongoBoard

log = structlog.get_logger("boleta.projections")


class Model(StrEnum):
    tallies = "tallies"
    audit = "audit"
    board = "board"


# Each model's client library is imported when that model is built: the tallies worker does
# not load pymongo, the audit worker not redis-py.
def redis_client(settings: Settings) -> redis.Redis:
    import redis

    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=10
    )


def mongo_db(settings: Settings) -> pymongo.database.Database[dict[str, Any]]:
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    return client[settings.mongo_db]


def board_sink(settings: Settings, prefix: str | None = None) -> MongoBoard:
    """The public board: every vote event, windows and counting rules left to the recount."""
    from boleta.board_secrets import board_pseudonyms, board_signer, checkpoint_origin
    from domain.readmodel import BOARD_PREFIX
    from projections.board_codes import RedisCodes
    from projections.board_sink import MongoBoard

    signer = board_signer(settings)
    prefix = prefix or BOARD_PREFIX
    return MongoBoard(
        mongo_db(settings),
        board_pseudonyms(settings),
        signer.sign,
        lambda partition: checkpoint_origin(settings, partition),
        RedisCodes(redis_client(settings), settings.tallies_tag, prefix),
        prefix,
    )


def build_sink(settings: Settings, model: Model) -> Sink:
    """The read model, admitting only votes cast inside their contest's window (from the
    catalog this process loaded: a rebuild applies the catalog of its own time). The board
    admits every vote event."""
    sink: Sink
    if model is Model.board:
        from projections.board_pipeline import PipelinedBoard

        return PipelinedBoard(board_sink(settings))
    if model is Model.tallies:
        from projections.redis_sink import RedisTallies

        sink = RedisTallies(redis_client(settings), tag=settings.tallies_tag)
    else:
        from projections.mongo_sink import MongoAudit

        sink = MongoAudit(mongo_db(settings))
    voting = windows(load_catalog(settings))
    return Windowed(sink, voting) if voting else sink


def metrics_port(settings: Settings, model: Model) -> int:
    return {
        Model.tallies: settings.tallies_metrics_port,
        Model.audit: settings.audit_metrics_port,
        Model.board: settings.board_metrics_port,
    }[model]


def batch_timeout_s(settings: Settings, model: Model) -> float:
    """How long the worker of ``model`` waits to fill a batch."""
    if model is Model.tallies:
        return settings.projection_batch_timeout_ms / 1000
    return settings.audit_batch_timeout_ms / 1000


def batch_size(settings: Settings, model: Model) -> int:
    """How many messages the worker of ``model`` applies at most in one batch."""
    return settings.board_batch_size if model is Model.board else settings.projection_batch_size


def build_worker(
    settings: Settings, model: Model, stop: threading.Event, registry: CollectorRegistry
) -> ProjectionWorker:
    group = f"{settings.group_prefix}-{model}"
    security = settings.kafka_security
    prefetch = LARGE_PREFETCH if model in (Model.tallies, Model.board) else SMALL_PREFETCH
    consumer = Consumer(
        consumer_config(settings.kafka_bootstrap, group, extra=security, prefetch=prefetch)
    )
    dead_letters = DeadLetters(
        {"bootstrap.servers": settings.kafka_bootstrap, **security}, settings.dlq_topic, group
    )
    return ProjectionWorker(
        consumer,
        build_sink(settings, model),
        vote_cast_codec(),
        settings.topic,
        dead_letters,
        ProjectionMetrics(registry, str(model)),
        stop,
        batch_size=batch_size(settings, model),
        batch_timeout_s=batch_timeout_s(settings, model),
        crash_after_dead_letters=settings.crash_after_dead_letters,
    )


def main(settings: Settings, model: Model) -> None:
    logs.configure()
    registry = CollectorRegistry()
    port = metrics_port(settings, model)
    if port:
        start_http_server(port, settings.metrics_host, registry)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name, model=str(model))
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    worker = build_worker(settings, model, stop, registry)
    freeze_startup_objects()
    worker.run()
