"""One fault per test, injected while votes flow; then every vote is checked exactly.

Each test's docstring names its row in the table (test-artifacts/chaos.md).
"""

from __future__ import annotations

import random
import threading
import time

import msgspec
import pytest
import redis
from confluent_kafka import Producer

from boleta.settings import Settings
from domain.readmodel import META, tallies_key
from tests.chaos.checks import counts
from tests.chaos.conftest import Chaos
from tests.chaos.stack import PrivateStack
from tests.integration.kafka_helpers import read_all
from tests.integration.projection_helpers import wait_for

# A soak (--chaos-votes) takes longer than the suite's default 300 s per test.
pytestmark = pytest.mark.timeout(1200)

V1 = [("event_type", b"VoteCast"), ("schema_version", b"1")]
A_VOTE = {
    "event_id": "0190a0a0-0000-7000-8000-000000000000",
    "vote_id": "5d6e1f1a-3f7e-4a55-9d52-1f5c9c3b1a01",
    "contest": "main",
    "band": "Mayfield",
    "album": "Imbituva",
    "year": 2008,
    "rank": 1,
    "cast_at": "2025-01-01T00:00:00Z",
}
POISON: list[tuple[bytes | None, list[tuple[str, bytes]]]] = [
    (b"\x00\xff\xfe not an event", V1),
    (b"{ not json", V1),
    (msgspec.json.encode(A_VOTE), [("event_type", b"VoteCast"), ("schema_version", b"99")]),
    (msgspec.json.encode(A_VOTE), [("event_type", b"VoteCast"), ("schema_version", b"0")]),
    (msgspec.json.encode(A_VOTE), [("event_type", b"VoteCast"), ("schema_version", b"v1")]),
    (msgspec.json.encode(A_VOTE), []),
    (msgspec.json.encode(A_VOTE), [("event_type", b"VoteRetracted"), ("schema_version", b"1")]),
    (None, V1),
    (msgspec.json.encode({**A_VOTE, "year": "MMVIII"}), V1),
    (b'{"vote_id": "only"}', V1),
    (random.Random(8).randbytes(100_000), V1),
]


def progress(chaos: Chaos, fraction: float) -> None:
    wait_for(
        lambda: chaos.loads[-1].acknowledged >= chaos.votes * fraction,
        120,
        f"{fraction:.0%} of the votes to be acknowledged",
    )


def test_projection_workers_sigkilled_mid_batch(chaos: Chaos) -> None:
    """SIGKILL of a projection worker mid-batch, 6 times, then a restart."""
    kills_done = threading.Event()
    load = chaos.load(flow_s=40, until=kills_done)  # votes flow until the last kill
    rng = random.Random(4)
    acknowledged = load.acknowledged
    at_kills: list[int] = []
    for kill in range(6):
        app = chaos.apps["tallies" if kill % 2 == 0 else "audit"]
        index = 0 if app.name == "tallies" else 1
        before = counts(chaos.world)[index]
        # Votes still flow, and the worker (restarted by the kill before last) is applying
        # batches: kill it now.
        wait_for(
            lambda i=index, b=before, a=acknowledged: (
                load.acknowledged > a and counts(chaos.world)[i] > b
            ),
            120,
            f"votes to flow and the {app.name} worker to apply a batch",
        )
        time.sleep(rng.uniform(0.0, 0.5))  # jitter: kills land at varied points of a batch
        acknowledged = load.acknowledged
        assert load.flowing(), "the vote load stopped"
        at_kills.append(acknowledged)
        app.kill()
        app.spawn()
    kills_done.set()
    for app in chaos.apps.values():
        app.wait_ready()
    chaos.row.notes["acknowledged_at_each_kill"] = at_kills
    chaos.check(load.wait())


BROKER_FAULTS = {
    "sigterm": ("Kafka broker stopped (SIGTERM) and restarted", PrivateStack.stop_kafka),
    "sigkill": ("Kafka broker killed (SIGKILL) and restarted", PrivateStack.kill_kafka),
}


@pytest.mark.parametrize("how", list(BROKER_FAULTS))
def test_kafka_broker_stopped_and_restarted(chaos: Chaos, how: str) -> None:
    """The Kafka broker stopped and restarted while votes flow (the row says how)."""
    chaos.row.fault, stop = BROKER_FAULTS[how]
    restarted = threading.Event()
    load = chaos.load(flow_s=25, until=restarted)  # votes flow until after the restart
    progress(chaos, 0.3)
    stop(chaos.stack)
    wait_for(
        lambda: (
            load.ledger.retried_codes["unavailable"] + load.ledger.retried_codes["UNAVAILABLE"] > 0
        ),
        60,
        "clients to see UNAVAILABLE",
    )
    stalled_at = load.acknowledged
    chaos.stack.start_kafka()
    wait_for(lambda: load.acknowledged > stalled_at, 120, "a vote acknowledged after the restart")
    restarted.set()
    chaos.check(load.wait())


def tallies_instance(world: Settings) -> str | None:
    """The tallies model's instance id (new whenever the model is created afresh)."""
    with redis.Redis.from_url(world.redis_url, decode_responses=True) as client:
        return client.hget(tallies_key(META, tag=world.tallies_tag), "instance")


STORES = {
    "redis": ("Redis restarted with its data wiped", 0, PrivateStack.restart_redis_wiped),
    "ferretdb": (
        "FerretDB (the MongoDB-protocol server) restarted",
        1,
        PrivateStack.restart_ferretdb,
    ),
}


@pytest.mark.parametrize("store", list(STORES))
def test_a_read_model_store_restarted(chaos: Chaos, store: str) -> None:
    """A read model's store restarted while votes flow (the row names which)."""
    chaos.row.fault, index, restart = STORES[store]
    load = chaos.load()
    progress(chaos, 0.4)
    wait_for(lambda: counts(chaos.world)[index] > 0, 60, f"{store} to hold counted votes")
    before = tallies_instance(chaos.world)
    restart(chaos.stack)
    if store == "redis":
        # The data is gone (the worker cannot find its model instance) and the worker
        # rebuilds a new one from the log; the check below proves it counts everything.
        wait_for(
            lambda: tallies_instance(chaos.world) not in (None, before),
            120,
            "the tallies worker to rebuild a wiped model",
        )
    chaos.check(load.wait())


def test_command_service_sigterm_under_load(chaos: Chaos) -> None:
    """SIGTERM of the command service under load, then a restart."""
    restarted = threading.Event()
    load = chaos.load(until=restarted)  # votes flow until after the restart
    progress(chaos, 0.3)
    commands = chaos.apps["commands"]
    assert commands.terminate() == 0, commands.log_tail()
    acknowledged_before = set(load.ledger.acknowledged)
    in_log = {m.key().decode() for m in read_all(chaos.world, chaos.world.topic)}
    assert acknowledged_before <= in_log, "a vote acknowledged before SIGTERM is not in the log"
    wait_for(lambda: sum(load.ledger.retried_codes.values()) > 0, 60, "callers to see failures")
    commands.start()
    wait_for(
        lambda: load.acknowledged > len(acknowledged_before),
        120,
        "a vote acknowledged after the restart",
    )
    restarted.set()
    ledger = load.wait()
    chaos.row.notes["acknowledged_before_sigterm"] = len(acknowledged_before)
    chaos.check(ledger)


def test_clients_resend_ten_percent_with_the_same_vote_id(chaos: Chaos) -> None:
    """10% of votes sent twice by clients with the same vote_id."""
    load = chaos.load(resend_every=10)
    ledger = load.wait()
    assert ledger.resent >= chaos.votes // 20, f"only {ledger.resent} votes were resent"
    chaos.check(ledger)
    assert chaos.row.log_messages >= chaos.row.in_log + ledger.resent


def test_poison_messages_on_the_votes_topic(chaos: Chaos) -> None:
    """Garbage and unknown-version messages produced onto the votes topic."""
    load = chaos.load()
    producer = Producer({"bootstrap.servers": chaos.world.kafka_bootstrap})
    positions: set[tuple[int, int]] = set()

    def delivered(err: object, msg: object) -> None:
        assert err is None, err
        positions.add((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    for round_, fraction in enumerate((0.2, 0.5, 0.8)):
        progress(chaos, fraction)
        for index, (value, headers) in enumerate(POISON):
            key = f"poison-{round_}-{index}".encode() if index % 3 else None
            producer.produce(
                chaos.world.topic, value=value, key=key, headers=headers, on_delivery=delivered
            )
        assert producer.flush(30) == 0
    assert len(positions) == 3 * len(POISON)
    chaos.check(load.wait(), poison=positions)
