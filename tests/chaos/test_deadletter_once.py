"""Exactly-once dead letters: a projection worker killed after its dead letters are in the
DLQ but before its checkpoint moved gets the same poison again when it restarts, and must
not dead-letter it twice.

The kill is deterministic: ``BOLETA_CRASH_AFTER_DEAD_LETTERS=1`` (a test-only setting)
makes the worker exit hard (``os._exit``) right after its first batch with poison is
flushed to the DLQ, before that batch is applied. The row's checks then hold the DLQ to
exactly the poison, once per worker.

Each test's docstring names its row in the table (test-artifacts/chaos.md).
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from projections.worker import CRASH_EXIT_CODE
from tests.chaos.conftest import Chaos
from tests.chaos.stack import App
from tests.chaos.test_faults import POISON, progress
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)
WORKERS = ("tallies", "audit")


def crashing(chaos: Chaos, name: str, round_: int) -> App:
    """The worker ``name`` set to exit right after dead-lettering, with its own log."""
    app = chaos.apps[name]
    settings = chaos.world.replace(crash_after_dead_letters=1)
    return App(app.service, settings, app.log_path.with_name(f"{name}-crash-{round_}.log"))


def test_workers_killed_between_dead_letters_and_checkpoint(chaos: Chaos) -> None:
    """Both workers killed after dead-lettering, before the checkpoint, 3 times each."""
    load = chaos.load(flow_s=30)
    producer = Producer({"bootstrap.servers": chaos.world.kafka_bootstrap})
    positions: set[tuple[int, int]] = set()

    def delivered(err: object, msg: object) -> None:
        assert err is None, err
        positions.add((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    crashes = 0
    for round_, fraction in enumerate((0.2, 0.5, 0.8)):
        progress(chaos, fraction)
        doomed = []
        for name in WORKERS:
            chaos.apps[name].stop()
            doomed.append(crashing(chaos, name, round_))
            doomed[-1].start()
        for index, (value, headers) in enumerate(POISON):
            key = f"poison-{round_}-{index}".encode() if index % 3 else None
            producer.produce(
                chaos.world.topic, value=value, key=key, headers=headers, on_delivery=delivered
            )
        assert producer.flush(30) == 0
        for app in doomed:
            wait_for(lambda a=app: not a.running(), 120, f"{app.name} to crash after the DLQ")
            assert app.process.returncode == CRASH_EXIT_CODE, app.log_tail()
            crashes += 1
        for name in WORKERS:
            chaos.apps[name].start()
    assert len(positions) == 3 * len(POISON)
    chaos.row.notes["crashes_after_dead_letters"] = crashes
    chaos.check(load.wait(), poison=positions)
