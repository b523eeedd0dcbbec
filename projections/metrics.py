"""Prometheus metrics of a projection worker, on a registry passed in by the composition root."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ProjectionMetrics:
    def __init__(self, registry: CollectorRegistry, model: str) -> None:
        self.model = model
        self.applied = Counter(
            "boleta_projection_votes_applied",
            "Votes newly counted by the read model",
            ["model"],
            registry=registry,
        ).labels(model)
        self.messages = Counter(
            "boleta_projection_messages",
            "Messages consumed (including redeliveries)",
            ["model"],
            registry=registry,
        ).labels(model)
        self.dead_lettered = Counter(
            "boleta_projection_dead_lettered",
            "Undecodable messages sent to the DLQ",
            ["model"],
            registry=registry,
        ).labels(model)
        self.resyncs = Counter(
            "boleta_projection_resyncs",
            "Re-seeks because the read model changed under the worker",
            ["model"],
            registry=registry,
        ).labels(model)
        self.sink_errors = Counter(
            "boleta_projection_sink_errors",
            "Failed attempts to write a batch (retried)",
            ["model"],
            registry=registry,
        ).labels(model)
        self.batch_seconds = Histogram(
            "boleta_projection_batch_seconds",
            "Time to apply one batch to the read model",
            ["model"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        ).labels(model)
        self._lag = Gauge(
            "boleta_projection_lag",
            "Messages behind the end of the log, per partition",
            ["model", "partition"],
            registry=registry,
        )

    def lag(self, partition: int, behind: int) -> None:
        self._lag.labels(self.model, str(partition)).set(behind)
