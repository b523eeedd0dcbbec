"""Running projection workers inside a test, and producing events straight onto a topic."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from boleta.serve_projections import Model, build_worker
from boleta.settings import Settings
from commands.handler import new_event_id
from domain import VoteCast, vote_cast_codec
from domain.projection import TallyView
from projections.log_reader import end_offsets, replay, replay_consumer

BANDS = ("Mayfield", "Green Ridge", "Norrtälje", "Sal\u2019sk", "Lien")


def make_events(
    count: int, duplicate_every: int = 0, contests: Sequence[str] = ("main",)
) -> list[VoteCast]:
    """Valid events, in ``contests`` in turn; every ``duplicate_every``-th one repeats an
    earlier vote_id (a retry)."""
    now = datetime.now(UTC)
    events: list[VoteCast] = []
    for i in range(count):
        vote_id = str(uuid.uuid4())
        if duplicate_every and i and i % duplicate_every == 0:
            vote_id = events[i // 2].vote_id
        at = now + timedelta(milliseconds=i)
        events.append(
            VoteCast(
                event_id=new_event_id(at),
                vote_id=vote_id,
                contest=contests[i % len(contests)],
                band=BANDS[i % len(BANDS)],
                album=f"Album {i % 3}",
                year=2000 + i % 20,
                rank=1 + i % 10,
                cast_at=at,
            )
        )
    return events


def produce(settings: Settings, events: Sequence[VoteCast]) -> None:
    codec = vote_cast_codec()
    producer = Producer(
        {"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "linger.ms": 5}
    )
    for event in events:
        producer.produce(
            settings.topic,
            key=event.vote_id.encode(),
            value=codec.encode(event),
            headers=codec.headers,
        )
        producer.poll(0)
    assert producer.flush(30) == 0


def produce_raw(
    settings: Settings,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    key: bytes = b"poison",
) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(settings.topic, key=key, value=value, headers=headers)
    assert producer.flush(30) == 0


@contextmanager
def running_worker(settings: Settings, model: Model) -> Iterator[threading.Thread]:
    stop = threading.Event()
    worker = build_worker(settings, model, stop, CollectorRegistry())
    thread = threading.Thread(target=worker.run, name=f"worker-{model}", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), f"the {model} worker did not stop"


def log_fold(settings: Settings) -> TallyView:
    """The tallies the log implies: every message, first occurrence per vote_id."""
    consumer = replay_consumer(settings.kafka_bootstrap, "test-fold")
    try:
        view = TallyView()
        for batch in replay(
            consumer, settings.topic, vote_cast_codec(), end_offsets(consumer, settings.topic)
        ):
            view.apply(batch)
        return view
    finally:
        consumer.close()


def wait_for(condition: object, timeout: float = 60, what: str = "condition") -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
