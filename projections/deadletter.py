"""The dead-letter topic: undecodable messages go there, with the reason, before the worker
moves past them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaException, Message, Producer


class DeadLetters:
    def __init__(self, config: dict[str, Any], topic: str, worker: str) -> None:
        self._producer = Producer({**config, "enable.idempotence": True, "acks": "all"})
        self.topic = topic
        self._worker = worker

    def send(self, poison: Sequence[tuple[Message, str]], flush_s: float = 30.0) -> None:
        """Produce every poison message with its reason and wait until Kafka has them all."""
        failures: list[str] = []

        def report(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for msg, reason in poison:
            headers = [
                *(msg.headers() or []),
                ("dlq_reason", reason.encode()),
                ("dlq_source_topic", (msg.topic() or "").encode()),
                ("dlq_source_partition", str(msg.partition()).encode()),
                ("dlq_source_offset", str(msg.offset()).encode()),
                ("dlq_worker", self._worker.encode()),
            ]
            self._producer.produce(
                self.topic, value=msg.value(), key=msg.key(), headers=headers, on_delivery=report
            )
        remaining = self._producer.flush(flush_s)
        if remaining or failures:
            raise KafkaException(
                f"dead-letter topic {self.topic} did not take {remaining or len(failures)} "
                f"messages: {failures[:1]}"
            )

    def close(self) -> None:
        self._producer.flush(10)
