"""Composition root of the query service: settings -> Redis and Mongo readers -> Litestar."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from confluent_kafka import KafkaException
from litestar import Litestar
from pymongo import AsyncMongoClient

from boleta import logs, ops
from boleta.board_secrets import (
    auditor_token,
    board_pseudonyms,
    board_verifier_key,
    checkpoint_origin,
)
from boleta.catalog import load_catalog
from boleta.settings import Settings
from domain.projection import TallyView
from domain.readmodel import BOARD_PREFIX
from projections.asof import PastTheEndError
from projections.board_codes import AsyncCodes
from projections.log_reader import EndOffsets, replay_consumer
from queries.app import QueryConfig, create_app
from queries.asof import LogUnavailableError, ResultsAsOf
from queries.board import MongoBoardReader
from queries.board_api import BoardNaming
from queries.inputs import Positions
from queries.lag import LogEnds
from queries.positions import PastTheLogError, ResultsAtPositions
from queries.results import RedisResults
from queries.votes import QUERY_BUDGET_MS, MongoVotes


def build_app(settings: Settings) -> Litestar:
    clients: dict[str, Any] = {}

    def open_results() -> RedisResults:
        clients["redis"] = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2
        )
        return RedisResults(clients["redis"], settings.tallies_tag)

    def open_votes() -> MongoVotes:
        # A page may take the server QUERY_BUDGET_MS; an answer that has not come a few
        # seconds after that never will (the server is cut off): fail, do not hang.
        clients["mongo"] = AsyncMongoClient(
            settings.mongo_url,
            tz_aware=True,
            serverSelectionTimeoutMS=2000,
            connectTimeoutMS=2000,
            socketTimeoutMS=QUERY_BUDGET_MS + 3000,
        )
        slack = timedelta(milliseconds=settings.cast_order_slack_ms)
        return MongoVotes(clients["mongo"], settings.mongo_db, slack=slack)

    def open_board() -> MongoBoardReader:
        codes = AsyncCodes(clients["redis"], settings.tallies_tag, BOARD_PREFIX)
        return MongoBoardReader(clients["mongo"], settings.mongo_db, BOARD_PREFIX, codes)

    async def close() -> None:
        if "redis" in clients:
            await clients["redis"].aclose()
        if "mongo" in clients:
            await clients["mongo"].close()

    def replay(as_of: datetime, timeout_s: float) -> TallyView:
        try:
            return ops.results_as_of(settings, as_of, timeout_s)
        except KafkaException as exc:
            raise LogUnavailableError(f"the log (Kafka) could not be read: {exc}") from exc

    def replay_at(ends: Positions, as_of: datetime | None, timeout_s: float) -> TallyView:
        try:
            return ops.results_at(settings, ends, as_of, timeout_s)
        except PastTheEndError as exc:
            raise PastTheLogError(f"{exc}: no results at them exist yet") from None
        except KafkaException as exc:
            raise LogUnavailableError(f"the log (Kafka) could not be read: {exc}") from exc

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    config = QueryConfig(
        pseudonyms=board_pseudonyms(settings),
        cors_origins=origins,
        webapp_dir=settings.webapp_dir,
        default_contest=settings.default_contest,
        catalog=load_catalog(settings),
        results_as_of=ResultsAsOf(
            replay,
            timedelta(milliseconds=settings.as_of_final_delay_ms),
            settings.as_of_timeout_s,
            settings.as_of_cache_size,
        ),
        results_at=ResultsAtPositions(
            replay_at, settings.as_of_timeout_s, settings.as_of_cache_size
        ),
        log_ends=LogEnds(
            EndOffsets(
                partial(replay_consumer, settings.kafka_bootstrap, "lag", settings.kafka_security),
                settings.topic,
            )
        ),
        board=BoardNaming(
            settings.partitions,
            partial(checkpoint_origin, settings),
            board_verifier_key(settings),
        ),
        auditor_token=auditor_token(settings),
    )
    return create_app(config, open_results, open_votes, close, open_board)


def main(settings: Settings) -> None:
    logs.configure()
    uvicorn.run(
        build_app(settings),
        host=settings.query_host,
        port=settings.query_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
