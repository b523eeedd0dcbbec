"""The command service's method wrapper counts every call (commands/observed.py)."""

from __future__ import annotations

import grpc
import pytest
from prometheus_client import CollectorRegistry

from commands.metrics import CommandMetrics
from commands.observed import observed


async def test_the_wrapper_counts_latency_by_status_and_balances_the_gauge() -> None:
    metrics = CommandMetrics(CollectorRegistry())

    class Context:
        def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
            return ()

        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.INVALID_ARGUMENT

    async def ok(request: object, context: object) -> str:
        assert metrics.inflight._value.get() == 1
        return "reply"

    async def fails(request: object, context: object) -> str:
        raise RuntimeError("aborted")

    assert await observed("CastVote", ok, metrics)(None, Context()) == "reply"
    with pytest.raises(RuntimeError):
        await observed("CastVote", fails, metrics)(None, Context())
    samples = {
        (s.labels["method"], s.labels["code"]): s.value
        for s in metrics.latency.collect()[0].samples
        if s.name.endswith("_count")
    }
    assert samples == {("CastVote", "OK"): 1, ("CastVote", "INVALID_ARGUMENT"): 1}
    assert metrics.inflight._value.get() == 0
