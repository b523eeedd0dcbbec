"""Network faults through Toxiproxy on the links between boleta's processes and their
servers, injected while votes flow; then every vote is checked exactly (as in
test_faults). Each test's docstring names its row; the row's ``link`` names the proxy.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
import redis

from boleta.settings import Settings
from domain.readmodel import CHECKPOINT, tallies_key
from loadtest.e2e import CheckpointWatch, percentiles
from projections.log_reader import end_offsets, replay_consumer
from tests.chaos.checks import counts
from tests.chaos.conftest import Chaos
from tests.chaos.network import LINKS
from tests.chaos.test_faults import progress
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)

PARTITION_S = 10.0
SETTLE_INTO_FAULT_S = 2.0  # what was in flight when the fault began is answered by then


def acknowledged_during(chaos: Chaos, seconds: float) -> tuple[int, int]:
    """Acknowledged votes after SETTLE_INTO_FAULT_S and after ``seconds`` of the fault."""
    time.sleep(SETTLE_INTO_FAULT_S)
    first = chaos.loads[-1].acknowledged
    time.sleep(seconds - SETTLE_INTO_FAULT_S)
    return first, chaos.loads[-1].acknowledged


def unavailable(chaos: Chaos) -> int:
    codes = chaos.loads[-1].ledger.retried_codes
    return codes["unavailable"] + codes["UNAVAILABLE"]


def test_partition_command_service_to_kafka(chaos: Chaos) -> None:
    """Partition (timeout toxic both ways) between the command service and Kafka."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS["commands-kafka"].title
    healed = threading.Event()
    load = chaos.load(until=healed)
    progress(chaos, 0.3)
    before = unavailable(chaos)
    with chaos.network.partition("commands-kafka"):
        during = acknowledged_during(chaos, PARTITION_S)
        # Votes past the ack deadline are answered unavailable and sent again (same ids).
        assert unavailable(chaos) > before, "no vote was answered unavailable"
    assert during[1] == during[0], f"votes acknowledged across a partition: {during}"
    wait_for(lambda: load.acknowledged > during[1], 120, "a vote acknowledged after the heal")
    healed.set()
    chaos.row.notes.update(unavailable_during=unavailable(chaos) - before)
    chaos.check(load.wait())


STORE_LINKS = {"tallies-redis": 0, "audit-ferretdb": 1}


@pytest.mark.parametrize("link", list(STORE_LINKS))
def test_partition_worker_to_its_store(chaos: Chaos, link: str) -> None:
    """Partition (timeout toxic both ways) between a projection worker and its store."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS[link].title
    index = STORE_LINKS[link]
    load = chaos.load(flow_s=20)
    progress(chaos, 0.3)
    wait_for(lambda: counts(chaos.world)[index] > 0, 60, "the store to hold counted votes")
    with chaos.network.partition(link):
        time.sleep(SETTLE_INTO_FAULT_S)
        stalled = counts(chaos.world)[index]
        time.sleep(PARTITION_S - SETTLE_INTO_FAULT_S)
        assert counts(chaos.world)[index] == stalled, "the store was written across a partition"
    chaos.row.notes.update(counted_at_partition=stalled)
    chaos.check(load.wait())


def log_lag(world: Settings) -> int:
    """Messages in the log past the tallies' checkpoints, read directly (not through the
    workers, whose view of the log is what the fault cuts)."""
    consumer = replay_consumer(world.kafka_bootstrap, "lag", world.kafka_security)
    try:
        ends = end_offsets(consumer, world.topic)
    finally:
        consumer.close()
    with redis.Redis.from_url(world.redis_url, decode_responses=True) as client:
        stored = client.hgetall(tallies_key(CHECKPOINT, tag=world.tallies_tag))
    return sum(max(0, end - 1 - int(stored.get(str(p), -1))) for p, end in ends.items())


def test_asymmetric_producer_reaches_kafka_consumers_do_not(chaos: Chaos) -> None:
    """Asymmetric: the command service reaches Kafka, the projection workers do not."""
    chaos.row.fault += f", for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS["workers-kafka"].title
    load = chaos.load(flow_s=20)
    progress(chaos, 0.2)
    with chaos.network.partition("workers-kafka"):
        time.sleep(SETTLE_INTO_FAULT_S)  # the workers apply what they had fetched
        stalled, lag_before = counts(chaos.world), log_lag(chaos.world)
        acknowledged = load.acknowledged
        time.sleep(PARTITION_S - SETTLE_INTO_FAULT_S)
        assert counts(chaos.world) == stalled, "the tallies moved while cut off from the log"
        assert load.acknowledged > acknowledged, "the command service stopped acknowledging"
        lag_after = log_lag(chaos.world)
        assert lag_after > lag_before, f"the lag did not rise: {lag_before} -> {lag_after}"
    chaos.row.notes.update(lag_at_start=lag_before, lag_at_heal=lag_after)
    chaos.check(load.wait())


@pytest.mark.parametrize("link", list(STORE_LINKS))
def test_connection_resets_mid_batch(chaos: Chaos, link: str) -> None:
    """Connection resets (reset_peer on the answers) mid-batch, 5 times."""
    chaos.row.link = LINKS[link].title
    index = STORE_LINKS[link]
    worker = chaos.apps["tallies" if index == 0 else "audit"]
    resets_done = threading.Event()
    load = chaos.load(flow_s=20, until=resets_done)
    rng = random.Random(15)
    for _ in range(5):
        before = counts(chaos.world)[index]
        wait_for(lambda b=before: counts(chaos.world)[index] > b, 60, "a batch to be applied")
        time.sleep(rng.uniform(0.0, 0.3))
        with chaos.network.resets(link):
            time.sleep(0.5)
    resets_done.set()
    retried = worker.log_path.read_text().count("apply batch")
    assert retried > 0, "no reset struck while a batch was applied"
    chaos.row.notes.update(batches_retried=retried)
    chaos.check(load.wait())


LATENCY_LINKS = ("commands-kafka", "workers-kafka", "tallies-redis", "audit-ferretdb")


@pytest.mark.parametrize("link", LATENCY_LINKS)
def test_latency_on_a_link(chaos: Chaos, link: str) -> None:
    """Latency of 200 ms +- 50 ms each way on one link, all along."""
    chaos.row.link = LINKS[link].title
    with CheckpointWatch(chaos.world) as watch, chaos.network.latency(link, ms=200, jitter_ms=50):
        ledger = chaos.load(flow_s=15).wait()
        wait_for(
            lambda: counts(chaos.world) == (len(ledger.acknowledged),) * 2,
            120,
            "every vote counted",
        )
    visible = [watch.visible_at(p, o) for _, p, o in ledger.acks]
    latencies = [
        (v - sent) / 1e6
        for v, (sent, _, _) in zip(visible, ledger.acks, strict=True)
        if v is not None
    ]
    p50, p99 = percentiles(latencies)
    chaos.row.notes.update(e2e_p50_ms=round(p50), e2e_p99_ms=round(p99))
    chaos.row.fault += f" (end to end p50 {p50:.0f} ms, p99 {p99:.0f} ms)"
    chaos.check(ledger)
