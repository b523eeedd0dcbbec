"""The query service: a Litestar app factory that only assembles. Read-only; results from
Redis, the audit log from MongoDB; the built webapp at ``/``. The routes live in one
module per resource (``*_api.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.plugins.prometheus import PrometheusConfig
from litestar.static_files import create_static_files_router

from domain.board import Pseudonyms
from domain.catalog import Catalog
from queries.asof import ResultsAsOf
from queries.audit_api import AUDITOR_SCHEME, SECURITY_SCHEME, audit_router
from queries.board import MongoBoardReader
from queries.board_api import BoardController, BoardNaming
from queries.contests import Contests
from queries.contests_api import ContestsController
from queries.errors import (
    REQUEST_ID_HEADER,
    exception_handlers,
    log_server_error,
    stamp_request_id,
)
from queries.feeds import ResultsFeeds
from queries.health_api import MetricsController, healthz, readyz
from queries.lag import LogEnds
from queries.params import ACCEPTED
from queries.positions import ResultsAtPositions
from queries.reads import LiveReads, ReadCaches
from queries.receipts_api import ReceiptsController
from queries.results import RedisResults
from queries.results_api import ResultsController
from queries.votes import MongoVotes
from queries.votes_api import VotesController


@dataclass
class QueryConfig:
    """What the app needs, built from settings by the composition root."""

    # The board's pseudonyms: the public audit log shows a voter by theirs, never the id.
    pseudonyms: Pseudonyms
    cors_origins: list[str] = field(default_factory=list)
    webapp_dir: Path | None = None
    default_contest: str = "main"
    catalog: Catalog | None = None
    # Results as of a moment, replayed from the log (None: ``as_of`` is answered 503).
    results_as_of: ResultsAsOf | None = None
    # Results at positions of the log (?positions=), replayed (None: answered 503).
    results_at: ResultsAtPositions | None = None
    # The log's end offsets, for the live results' lag (None: the worker's lag is served).
    log_ends: LogEnds | None = None
    # The public board's names and key (None: no /board routes).
    board: BoardNaming | None = None
    # The auditors' bearer token (None: no auditor routes, /api/v1/audit).
    auditor_token: str | None = None


def create_app(
    config: QueryConfig,
    open_results: Callable[[], RedisResults],
    open_votes: Callable[[], MongoVotes],
    on_shutdown: Callable[[], Any] | None = None,
    open_board: Callable[[], MongoBoardReader] | None = None,
) -> Litestar:
    """The app. Clients are opened in the lifespan (by the callables), never at import."""
    state: dict[str, Any] = {}
    contests = Contests(config.catalog, config.default_contest)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        state["results"] = open_results()
        state["votes"] = open_votes()
        if open_board is not None:
            state["board"] = open_board()
        state["feeds"] = ResultsFeeds(state["results"], contests, config.log_ends)
        state["caches"] = ReadCaches(log_ends=config.log_ends)
        state["reads"] = LiveReads(state["results"], contests, state["caches"])
        if config.log_ends is not None:
            config.log_ends.start()
        try:
            yield
        finally:
            await state["feeds"].close()
            if config.log_ends is not None:
                await config.log_ends.close()
            if on_shutdown is not None:
                await on_shutdown()

    prometheus = PrometheusConfig(app_name="boleta_queries", group_path=True)
    routes: list[Any] = [
        ResultsController,
        ContestsController,
        VotesController,
        healthz,
        readyz,
        MetricsController,
    ]
    if config.board is not None and open_board is not None:
        routes += [BoardController, ReceiptsController]
    if config.auditor_token is not None:
        routes.append(audit_router(config.auditor_token))
    if config.webapp_dir is not None and (config.webapp_dir / "index.html").exists():
        routes.append(
            create_static_files_router(
                path="/",
                directories=[config.webapp_dir],
                html_mode=True,
                name="webapp",
                include_in_schema=False,
            )
        )
    return Litestar(
        route_handlers=routes,
        dependencies={
            "results": Provide(lambda: state["results"], sync_to_thread=False),
            "votes": Provide(lambda: state["votes"], sync_to_thread=False),
            "feeds": Provide(lambda: state["feeds"], sync_to_thread=False),
            "caches": Provide(lambda: state["caches"], sync_to_thread=False),
            "reads": Provide(lambda: state["reads"], sync_to_thread=False),
            "results_as_of": Provide(lambda: config.results_as_of, sync_to_thread=False),
            "results_at": Provide(lambda: config.results_at, sync_to_thread=False),
            "board": Provide(lambda: state["board"], sync_to_thread=False),
            "naming": Provide(lambda: config.board, sync_to_thread=False),
            "pseudonyms": Provide(lambda: config.pseudonyms, sync_to_thread=False),
        },
        lifespan=[lifespan],
        middleware=[prometheus.middleware],
        # queries.errors: a request id on every response, every 5xx logged with it (so
        # Litestar's own exception logging is off: one line per error), 400s naming fields.
        before_send=[stamp_request_id],
        after_exception=[log_server_error],
        exception_handlers=exception_handlers(ACCEPTED),
        logging_config=LoggingConfig(log_exceptions="never"),
        response_headers=[REQUEST_ID_HEADER],
        cors_config=CORSConfig(allow_origins=config.cors_origins, allow_methods=["GET"])
        if config.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="boleta queries",
            version="1",
            description="Read-only: results from the tallies, the audit log (voters by "
            "pseudonym; the full records under /api/v1/audit, for the auditor's bearer "
            "token), health. Every "
            "response carries an X-Request-ID (the request's own when sane); a 5xx's line in "
            "the service's log carries it too.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(security_schemes={AUDITOR_SCHEME: SECURITY_SCHEME}),
        ),
    )
