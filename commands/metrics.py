"""Prometheus metrics of the command service, on a registry passed in by the composition root."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from domain import Rejection

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class CommandMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.accepted = Counter(
            "boleta_votes_accepted",
            "Votes acknowledged after Kafka confirmed them",
            registry=registry,
        )
        self.rejections = Counter(
            "boleta_votes_rejected",
            "Votes not acknowledged, by reason",
            ["reason"],
            registry=registry,
        )
        self.latency = Histogram(
            "boleta_grpc_server_handling_seconds",
            "gRPC call latency, by method and status code",
            ["method", "code"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.inflight = Gauge(
            "boleta_grpc_inflight_calls", "gRPC calls being handled", registry=registry
        )

    def record(self, outcomes: Sequence[object]) -> None:
        if len(outcomes) == 1:  # a unary call: no tally to build
            (outcome,) = outcomes
            if isinstance(outcome, Rejection):
                self.rejections.labels(outcome.reason).inc()
            else:
                self.accepted.inc()
            return
        reasons = Tally(o.reason for o in outcomes if isinstance(o, Rejection))
        self.accepted.inc(len(outcomes) - sum(reasons.values()))
        for reason, count in reasons.items():
            self.rejections.labels(reason).inc(count)

    def rejected(self, reason: str, count: int = 1) -> None:
        self.rejections.labels(reason).inc(count)
