"""Faults on a replicated Kafka cluster (three KRaft nodes, RF 3, min.insync.replicas 2, as
in production), injected while votes flow from several callers; then every vote is checked
exactly, as in test_faults (tests/chaos/checks.py). Each test's docstring names its row.

The cluster (tests/chaos/replicated.py) is started for this module alone and stopped after
it, so its three JVMs do not share the CPU with the other rows' single-node stack.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from boleta.settings import Settings
from tests.chaos.checks import Row, check_world
from tests.chaos.load import Ledger, VoteLoad
from tests.chaos.replicated import ReplicatedStack, wait_until
from tests.chaos.stack import App
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)

# Three JVMs on 2 cores: a third of the other rows' votes. The count proves nothing more
# here; what matters is that votes flow through the whole fault and each is checked.
VOTES_SHARE = 3


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedStack]:
    stack = ReplicatedStack(tmp_path_factory.mktemp("replicated") / "home")
    started = time.monotonic()
    try:
        stack.up()
        stack.started_s = time.monotonic() - started
        yield stack
    finally:
        stack.down()


@dataclass
class Replicated:
    """One test's boleta on the replicated cluster: settings, processes, load, row."""

    stack: ReplicatedStack
    world: Settings
    apps: dict[str, App]
    row: Row
    votes: int
    loads: list[VoteLoad] = field(default_factory=list)

    def load(self, flow_s: float, until: threading.Event) -> VoteLoad:
        """Cast ``votes`` votes over about ``flow_s`` seconds, and more at the same rate
        until ``until`` is set."""
        target = f"{self.world.command_host}:{self.world.command_port}"
        load = VoteLoad(target, self.votes, rate=self.votes / flow_s, until=until)
        self.loads.append(load)
        return load.start()

    def check(self, ledger: Ledger) -> None:
        failures = check_world(self.row, self.world, ledger)
        assert not failures, "\n".join(failures)


@pytest.fixture
def chaos3(
    replicated: ReplicatedStack,
    chaos_rows: list[Row],
    chaos_votes: int,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Replicated]:
    doc = (request.function.__doc__ or request.node.name).strip().splitlines()[0]
    row = Row(fault=doc.rstrip("."), link="3 Kafka nodes")
    row.notes["cluster_start_s"] = round(replicated.started_s, 1)
    chaos_rows.append(row)
    started = time.monotonic()
    world = replicated.world()
    apps = replicated.apps(world, tmp_path / "logs")
    test: Replicated | None = None
    try:
        for app in apps.values():
            app.spawn()
        for app in apps.values():
            app.wait_ready()
        test = Replicated(replicated, world, apps, row, max(300, chaos_votes // VOTES_SHARE))
        yield test
    finally:
        for load in test.loads if test else []:
            load.stop()
        for app in apps.values():
            app.stop()
        replicated.start_nodes()  # a failed test's node must not stay down for the next
        row.seconds = time.monotonic() - started
        if row.result == "not checked":
            row.result = "FAIL: did not reach the checks"
        replicated.drop(world)


def longest_gap_s(times_ns: list[int], start_ns: int, end_ns: int) -> float:
    """The longest time without any of ``times_ns`` from the last one before ``start_ns``
    to ``end_ns``."""
    before = [t for t in times_ns if t <= start_ns]
    inside = sorted(t for t in times_ns if start_ns < t < end_ns)
    points = [max(before, default=start_ns), *inside, end_ns]
    return max(b - a for a, b in itertools.pairwise(points)) / 1e9


def test_leader_of_the_busiest_partitions_sigkilled(chaos3: Replicated) -> None:
    """SIGKILL of the leader of the busiest partitions, then the node restarted."""
    stack, world = chaos3.stack, chaos3.world
    back = threading.Event()
    load = chaos3.load(flow_s=20, until=back)  # votes flow until the node is back in sync
    wait_for(lambda: load.acknowledged >= chaos3.votes * 0.3, 120, "30% of the votes acked")
    node, led = stack.busiest_leader(world)
    controller = stack.controller()
    ledger = load.ledger
    killed_ns = time.time_ns()
    stack.kill_node(node)

    def moved() -> bool:
        now = stack.partitions(world)
        return all(now[p][0] not in (node, -1) for p in led)

    moved_s = wait_until(moved, 120, f"partitions {led} to get a leader other than node {node}")
    moved_ns = time.time_ns()
    wait_until(
        lambda: any(
            sent > moved_ns and partition in led for sent, partition, _ in ledger.acks[-400:]
        ),
        120,
        "a vote on a partition that moved acknowledged by its new leader",
    )
    assert load.flowing(), "the vote load stopped"
    restarted_ns = time.time_ns()
    stack.start_nodes()
    catch_up_s = wait_until(
        lambda: all(len(isr) == 3 for _, isr in stack.partitions(world).values()),
        180,
        f"node {node} back in every partition's in-sync replicas",
    )
    in_sync_ns = time.time_ns()
    back.set()
    ledger = load.wait()
    on_moved = [at for at, (_, p, _) in zip(ledger.acked_at, ledger.acks, strict=True) if p in led]
    # A call that straddles the kill is answered at the ack deadline with its votes that
    # were written before it; a vote sent after the kill is written only once the dead node
    # is fenced and out of every ISR (acks=all waits for the whole ISR).
    after = [
        at
        for at, (sent, _, _) in zip(ledger.acked_at, ledger.acks, strict=True)
        if sent > killed_ns
    ]
    chaos3.row.notes.update(
        killed_node=node,
        killed_node_was_the_controller=node == controller,
        partitions_moved=led,
        leadership_moved_s=round(moved_s, 1),
        longest_without_an_ack_s=round(longest_gap_s(ledger.acked_at, killed_ns, in_sync_ns), 1),
        longest_without_an_ack_on_moved_partitions_s=round(
            longest_gap_s(on_moved, killed_ns, in_sync_ns), 1
        ),
        first_vote_sent_after_the_kill_acked_s=round((min(after) - killed_ns) / 1e9, 1),
        restart_to_in_sync_s=round((in_sync_ns - restarted_ns) / 1e9, 1),
        isr_full_after_start_s=round(catch_up_s, 1),
        calls_retried_same_vote_ids=dict(ledger.retried_calls),
    )
    chaos3.check(ledger)
