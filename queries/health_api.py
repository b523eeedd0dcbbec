"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusController
from litestar.response import Response

from queries.results import RedisResults
from queries.views import Health
from queries.votes import MongoVotes


class MetricsController(PrometheusController):
    """Prometheus text format: not part of the JSON API's schema."""

    include_in_schema = False


@get("/healthz", tags=["health"], summary="The process is alive")
async def healthz() -> Health:
    return Health("ok")


@get("/readyz", tags=["health"], summary="Redis and MongoDB are reachable")
async def readyz(
    results: NamedDependency[RedisResults], votes: NamedDependency[MongoVotes]
) -> Response[Health]:
    checks: dict[str, str] = {}
    for name, probe in (("redis", results.ping), ("mongo", votes.ping)):
        try:
            await asyncio.wait_for(probe(), 2)
            checks[name] = "ok"
        except Exception as exc:  # report which dependency is down; never crash
            checks[name] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response(Health("ok" if ok else "unavailable", checks), status_code=200 if ok else 503)
