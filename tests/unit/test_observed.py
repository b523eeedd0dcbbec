"""The command service's method wrapper counts every call (commands/observed.py)."""

from __future__ import annotations

import grpc
import pytest
from prometheus_client import CollectorRegistry

from commands.metrics import CommandMetrics
from commands.observed import observed
from domain import Rejection


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


@pytest.mark.parametrize(
    "outcomes",
    [
        ["ok"],
        [Rejection("invalid_argument", "bad")],
        ["ok", Rejection("contest_closed", "closed"), "ok", Rejection("invalid_argument", "x")],
    ],
)
def test_record_counts_accepted_and_rejected_votes_by_reason(outcomes: list[object]) -> None:
    metrics = CommandMetrics(CollectorRegistry())
    metrics.record(outcomes)
    rejected = [o.reason for o in outcomes if isinstance(o, Rejection)]
    assert metrics.accepted._value.get() == len(outcomes) - len(rejected)
    for reason in set(rejected):
        assert metrics.rejections.labels(reason)._value.get() == rejected.count(reason)
