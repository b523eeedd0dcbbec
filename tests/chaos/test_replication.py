"""Faults on a replicated Kafka cluster (three KRaft nodes, RF 3, min.insync.replicas 2, as
in production), injected while votes flow from several callers through three replicas of
each projection worker (tallies, audit, board); then every vote is checked exactly, as in
test_faults (tests/chaos/checks.py), and the board against the log (board_checks). Each
test's docstring names its row; each row reports its recovery figures (tests/chaos/recovery).

The cluster (tests/chaos/replicated.py) is started for this module alone and stopped after
it, so its three JVMs do not share the CPU with the other rows' single-node stack.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from boleta.settings import Settings
from tests.chaos.board_checks import check_board
from tests.chaos.checks import Row, check_world
from tests.chaos.load import CALL_DEADLINE_S, Ledger, VoteLoad
from tests.chaos.recovery import Visibility, acked_since, figures, longest_gap_s
from tests.chaos.replicated import PARTITIONS, WORKERS, ReplicatedStack, wait_until, worker
from tests.chaos.stack import App
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)

# Three JVMs on 2 cores: a third of the other rows' votes. The count proves nothing more
# here; what matters is that votes flow through the whole fault and each is checked.
VOTES_SHARE = 3
PAUSE_S = 20.0  # a broker's stall: longer than its session timeout (9 s), so it is fenced
OUTAGE_S = 15.0  # two nodes down
CUT_S = 40.0  # a node cut off from its peers: longer than replica.lag.time.max.ms (30 s)


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
    """One test's boleta on the replicated cluster: settings, processes, load, row, and the
    watch on when each vote was counted."""

    stack: ReplicatedStack
    world: Settings
    apps: dict[str, App]
    row: Row
    votes: int
    logs: Path
    seen: Visibility
    loads: list[VoteLoad] = field(default_factory=list)
    until: threading.Event = field(default_factory=threading.Event)

    def flow(self, flow_s: float = 20) -> Ledger:
        """Cast ``votes`` votes over about ``flow_s`` seconds, and more at the same rate until
        ``finish``; return once 30% are acknowledged, with the ledger the load fills."""
        target = f"{self.world.command_host}:{self.world.command_port}"
        load = VoteLoad(target, self.votes, rate=self.votes / flow_s, until=self.until)
        self.loads.append(load.start())
        wait_for(lambda: load.acknowledged >= self.votes * 0.3, 120, "30% of the votes acked")
        return load.ledger

    def finish(self) -> tuple[float, int, Ledger]:
        """Wait until every ISR is full again, then end the load: (the seconds that took,
        the unix ns it was so, the load's ledger once every vote is acknowledged)."""
        catch_up_s = self.in_sync()
        in_sync_ns = time.time_ns()
        self.until.set()
        return catch_up_s, in_sync_ns, self.loads[-1].wait()

    def add_worker(self, kind: str) -> App:
        """One more replica of ``kind``, started now (a rebalance of its group)."""
        replica = 1 + sum(1 for name in self.apps if name.startswith(f"{kind}-"))
        app = worker(self.world, kind, replica, self.logs)
        self.apps[app.log_path.stem] = app
        app.spawn()
        return app

    def in_sync(self, timeout: float = 180) -> float:
        """Wait until every partition has its three replicas in sync: the seconds it took."""
        return wait_until(lambda: self.stack.in_sync(self.world), timeout, "every ISR full")

    def check(self, ledger: Ledger, fault_ns: int, healed_ns: int) -> None:
        """The row's recovery figures, then every vote exactly and the board."""
        self.row.notes.update(figures(ledger, self.seen, fault_ns, healed_ns))
        self.row.notes.update(calls_retried_same_vote_ids=dict(ledger.retried_calls))
        failures = check_world(self.row, self.world, ledger)
        failures += check_board(self.world)
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
    logs = tmp_path / "logs"
    apps = replicated.apps(world, logs)
    test: Replicated | None = None
    try:
        for app in apps.values():
            app.spawn()
        for app in apps.values():
            app.wait_ready()
        votes = max(300, chaos_votes // VOTES_SHARE)
        with Visibility(world) as seen:
            test = Replicated(replicated, world, apps, row, votes, logs, seen)
            yield test
    finally:
        for load in test.loads if test else []:
            load.stop()
        for app in apps.values():
            app.stop()
        if replicated.network is not None:
            replicated.network.api.reset()  # no toxic of a failed test is left behind
        replicated.start_nodes()  # a failed test's node must not stay down for the next
        row.seconds = time.monotonic() - started
        if row.result == "not checked":
            row.result = "FAIL: did not reach the checks"
        replicated.drop(world)


def test_leader_of_the_busiest_partitions_sigkilled(chaos3: Replicated) -> None:
    """SIGKILL of the leader of the busiest partitions, then the node restarted."""
    stack, world = chaos3.stack, chaos3.world
    ledger = chaos3.flow()
    node, led = stack.busiest_leader(world)
    controller, _ = stack.controller()
    killed_ns = time.time_ns()
    stack.kill_node(node)
    moved_s = wait_until(
        lambda: stack.led_by_others(world, node, led),
        120,
        f"partitions {led} to get a leader other than node {node}",
    )
    moved_ns = time.time_ns()
    wait_until(
        lambda: acked_since(ledger, moved_ns, led),
        120,
        "a vote on a partition that moved acknowledged by its new leader",
    )
    assert chaos3.loads[-1].flowing(), "the vote load stopped"
    restarted_ns = time.time_ns()
    stack.start_nodes()
    _, in_sync_ns, ledger = chaos3.finish()
    on_moved = acked_since(ledger, 0, led)
    # A call that straddles the kill is answered at the ack deadline with its votes that
    # were written before it; a vote sent after the kill is written only once the dead node
    # is fenced and out of every ISR (acks=all waits for the whole ISR).
    after = acked_since(ledger, killed_ns)
    chaos3.row.notes.update(
        killed_node=node,
        killed_node_was_the_active_controller=node == controller,
        partitions_moved=led,
        leadership_moved_s=round(moved_s, 1),
        longest_without_an_ack_on_moved_partitions_s=round(
            longest_gap_s(on_moved, killed_ns, in_sync_ns), 1
        ),
        first_vote_sent_after_the_kill_acked_s=round((min(after) - killed_ns) / 1e9, 1),
        restart_to_in_sync_s=round((in_sync_ns - restarted_ns) / 1e9, 1),
    )
    chaos3.check(ledger, killed_ns, in_sync_ns)


def test_broker_paused_while_workers_come_and_go(chaos3: Replicated) -> None:
    """A paused broker (SIGSTOP 20 s, then SIGCONT) while a tallies, an audit and a board
    worker join and one of each is SIGKILLed."""
    stack, world = chaos3.stack, chaos3.world
    chaos3.flow()
    node, led = stack.busiest_leader(world)
    paused_ns = time.time_ns()
    stack.pause_node(node)
    # A rebalance of every worker group inside the broker fault: one replica more of each,
    # and one of the first three SIGKILLed (mid-batch, wherever it is).
    joined = [chaos3.add_worker(kind) for kind in WORKERS]
    for kind in WORKERS:
        chaos3.apps[f"{kind}-2"].kill()
    moved_s = wait_until(
        lambda: stack.led_by_others(world, node, led),
        60,
        f"partitions {led} to get a leader other than the paused node {node}",
    )
    shrunk = [p for p, (_, isr) in stack.partitions(world).items() if node not in isr]
    time.sleep(max(0.0, PAUSE_S - (time.time_ns() - paused_ns) / 1e9))
    resumed_ns = time.time_ns()
    stack.pause_node(node, pause=False)
    for app in joined:
        app.wait_ready()
    catch_up_s, in_sync_ns, ledger = chaos3.finish()
    assert shrunk, f"the paused node {node} stayed in every ISR"
    chaos3.row.notes.update(
        paused_node=node,
        paused_s=round((resumed_ns - paused_ns) / 1e9, 1),
        leadership_moved_s=round(moved_s, 1),
        partitions_without_it_in_their_isr=shrunk,
        resumed_to_in_sync_s=round(catch_up_s, 1),
        workers_joined=[app.log_path.stem for app in joined],
        workers_killed=[f"{kind}-2" for kind in WORKERS],
    )
    chaos3.check(ledger, paused_ns, in_sync_ns)


def test_two_of_three_nodes_down(chaos3: Replicated) -> None:
    """Two of three nodes SIGKILLed for 15 s, then one restarted, then the other."""
    stack = chaos3.stack
    ledger = chaos3.flow()
    controller, _ = stack.controller()
    down = [n for n in (1, 2, 3) if n != controller][:2]  # the survivor: the controller
    for node in down:
        stack.kill_node(node)
    down_ns = time.time_ns()
    time.sleep(OUTAGE_S)
    restarted_ns = time.time_ns()
    stack.start_node(down[0])
    flowing_s = wait_until(
        lambda: acked_since(ledger, restarted_ns),
        180,
        "a vote sent after one node came back to be acknowledged",
    )
    stack.start_node(down[1])
    _, in_sync_ns, ledger = chaos3.finish()
    # No call sent once two nodes were down was acknowledged before one came back: a write
    # needs two replicas. Each such call ended within its deadline, told to retry.
    acked_in_outage = [at for at in acked_since(ledger, down_ns) if at < restarted_ns]
    outage_calls = [
        (end - sent, how)
        for sent, end, how in ledger.outcomes
        if down_ns < sent and end < restarted_ns
    ]
    assert not acked_in_outage, f"{len(acked_in_outage)} votes acknowledged with one node up"
    assert outage_calls, "no call ended while two nodes were down"
    ends = Counter(how for _, how in outage_calls)
    assert set(ends) <= {"unavailable", "UNAVAILABLE"}, f"calls in the outage ended {ends}"
    slowest_s = max(took for took, _ in outage_calls) / 1e9
    assert slowest_s < CALL_DEADLINE_S, f"a call in the outage took {slowest_s:.1f} s"
    chaos3.row.notes.update(
        nodes_down=down,
        outage_s=round((restarted_ns - down_ns) / 1e9, 1),
        calls_in_outage=dict(ends),
        slowest_call_in_outage_s=round(slowest_s, 1),
        one_node_back_to_votes_flowing_s=round(flowing_s, 1),
    )
    chaos3.check(ledger, down_ns, in_sync_ns)


def test_active_controller_sigkilled(chaos3: Replicated) -> None:
    """SIGKILL of the quorum's active controller, then the node restarted."""
    stack = chaos3.stack
    ledger = chaos3.flow()
    controller, epoch = stack.controller()
    killed_ns = time.time_ns()
    stack.kill_node(controller)
    elected_s = wait_until(  # an epoch with no leader yet is an election under way
        lambda: stack.controller()[1] > epoch and stack.controller()[0] != -1,
        120,
        "the quorum to elect a new controller",
    )
    successor, _ = stack.controller()
    wait_until(
        lambda: acked_since(ledger, killed_ns),
        120,
        "a vote sent after the kill to be acknowledged",
    )
    restarted_ns = time.time_ns()
    stack.start_nodes()
    _, in_sync_ns, ledger = chaos3.finish()
    assert successor != controller
    chaos3.row.notes.update(
        killed_controller=controller,
        new_controller=successor,
        new_controller_elected_s=round(elected_s, 1),
        restart_to_in_sync_s=round((in_sync_ns - restarted_ns) / 1e9, 1),
    )
    chaos3.check(ledger, killed_ns, in_sync_ns)


def test_rolling_restart(chaos3: Replicated) -> None:
    """A rolling restart of the three nodes, one at a time, each after every ISR is full."""
    stack = chaos3.stack
    ledger = chaos3.flow()
    controller, _ = stack.controller()
    # Strimzi's order: the other nodes first, the active controller last.
    order = [n for n in (1, 2, 3) if n != controller] + [controller]
    began_ns = time.time_ns()
    took: dict[int, float] = {}
    for node in order:
        started = time.monotonic()
        stack.stop_node(node)
        stack.start_node(node)
        chaos3.in_sync()
        took[node] = round(time.monotonic() - started, 1)
    _, in_sync_ns, ledger = chaos3.finish()
    retried = set(ledger.retried_codes)
    assert retried <= {"UNAVAILABLE", "unavailable"}, f"clients saw {dict(ledger.retried_codes)}"
    chaos3.row.notes.update(order=order, restart_to_in_sync_s=took)
    chaos3.check(ledger, began_ns, in_sync_ns)


def test_node_cut_off_from_its_peers(chaos3: Replicated) -> None:
    """A node cut off from the other two on the replication links (Toxiproxy) for 40 s, while
    clients and the controller quorum still reach it."""
    stack, world = chaos3.stack, chaos3.world
    assert stack.network is not None
    ledger = chaos3.flow()
    node, led = stack.busiest_leader(world)
    others = [p for p in range(PARTITIONS) if p not in led]
    cut_ns = time.time_ns()
    with stack.network.partition(*stack.links_of(node)):
        # Its peers stop fetching from it and it from them: after replica.lag.time.max.ms
        # (30 s) each leader drops the silent replicas from its ISR.
        dropped_s = wait_until(
            lambda: all(node not in stack.partitions(world)[p][1] for p in others),
            120,
            f"node {node} to leave the ISR of the partitions it does not lead",
        )
        wait_until(
            lambda: acked_since(ledger, cut_ns, others),
            120,
            "a vote sent after the cut acknowledged on a partition another node leads",
        )
        time.sleep(max(0.0, CUT_S - (time.time_ns() - cut_ns) / 1e9))
        during = stack.partitions(world)
        healed_ns = time.time_ns()
    catch_up_s, in_sync_ns, ledger = chaos3.finish()
    # Its own partitions keep it as leader (the controller still hears it) with an ISR of
    # itself alone, below min.insync.replicas: no vote sent once it was cut off is
    # acknowledged there before the heal, and none is lost.
    acked_on_its_own = [at for at in acked_since(ledger, cut_ns, led) if at < healed_ns]
    assert not acked_on_its_own, f"{len(acked_on_its_own)} votes acked by the cut-off leader"
    on_others = acked_since(ledger, cut_ns, others)
    chaos3.row.notes.update(
        cut_off_node=node,
        its_partitions=led,
        leaders_and_isr_while_cut={p: list(during[p]) for p in sorted(during)},
        left_the_other_isrs_s=round(dropped_s, 1),
        first_vote_sent_after_the_cut_acked_elsewhere_s=round((min(on_others) - cut_ns) / 1e9, 1),
        healed_to_in_sync_s=round(catch_up_s, 1),
    )
    chaos3.check(ledger, cut_ns, in_sync_ns)
