"""A private boleta on a replicated Kafka cluster: three KRaft nodes (BOLETA_KAFKA_NODES=3,
RF 3, min.insync.replicas 2, as in production), Redis and FerretDB, under their own home
and on their own ports, clear of the default stack and of the chaos suite's single-node
private stack (tests/chaos/stack.py), so both may run in one session.

boleta's processes and the controller quorum reach the nodes directly. Replication goes
through Toxiproxy: each node fetches from each other node over a link of its own (node n
from node m over m's listener ``REPLn``, which m advertises at the proxy of the link n -> m),
so a test can cut one node off from its peers while clients still reach it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from boleta import services, stack
from boleta import settings as settings_mod
from boleta.settings import Settings
from boleta.stack import kafka, toxiproxy
from boleta.stack.kafka_config import Listener, node_address, node_home, nodes
from boleta.stack.toxiproxy import HOST
from tests.chaos.network import Network
from tests.chaos.stack import App, drop_world, new_world
from tests.integration.kafka_helpers import end_offsets

# Below Linux's ephemeral ports (32768-60999), where a client's connection could hold one.
# Node n on 21092 + 100 (n - 1), its controller on 21093 + 100 (n - 1) (KAFKA_NODE_PORT_STEP).
PORTS = {
    "BOLETA_KAFKA_NODES": "3",
    "BOLETA_KAFKA_BOOTSTRAP": "127.0.0.1:21092",
    "BOLETA_KAFKA_CONTROLLER_PORT": "21093",
    "BOLETA_REDIS_URL": "redis://127.0.0.1:21379/0",
    "BOLETA_MONGO_URL": "mongodb://127.0.0.1:21017/",
    "BOLETA_COMMAND_PORT": "21051",
    "BOLETA_COMMAND_METRICS_PORT": "21100",
    "BOLETA_TALLIES_METRICS_PORT": "21101",
    "BOLETA_AUDIT_METRICS_PORT": "21102",
    "BOLETA_BOARD_METRICS_PORT": "21103",
    "BOLETA_QUERY_PORT": "21000",
    # Three JVMs on a 2-core machine: a small heap each.
    "BOLETA_KAFKA_HEAP": "256m",
}
PARTITIONS = 6  # two led by each node
TOXIPROXY_PORT = 21474
# Node m listens for node n's fetches on its port + 60 + n; the link's proxy is on + 70 + n.
REPLICATION_LISTEN, REPLICATION_PROXY = 60, 70
WORKERS = ("tallies", "audit", "board")
REPLICAS = 3  # of each worker, as production runs them (2 to 6)


def replicated_settings(home: Path) -> Settings:
    return settings_mod.load({**PORTS, "BOLETA_HOME": str(home)})


class ReplicatedStack:
    """The three nodes, Redis and FerretDB, started by ``boleta infra up``'s own code."""

    def __init__(self, home: Path) -> None:
        self.settings = replicated_settings(home)
        self.started_s = 0.0  # how long ``up`` took
        self.network: Network | None = None
        self.listeners = {node: replication_listeners(self.settings, node) for node in self.nodes}

    @property
    def nodes(self) -> range:
        return nodes(self.settings)

    def up(self) -> None:
        api = toxiproxy.start(self.settings, TOXIPROXY_PORT)
        for node in self.nodes:
            for peer in self.nodes:
                if peer != node:
                    listen, proxy = replication_ports(self.settings, node, peer)
                    api.create(link(peer, node), f"{HOST}:{proxy}", f"{HOST}:{listen}")
        self.network = Network(api)
        kafka.start(self.settings, self.listeners)  # then stack.up finds the nodes running
        stack.up(self.settings)

    def down(self) -> None:
        stack.down(self.settings)
        toxiproxy.process(self.settings, TOXIPROXY_PORT).stop()

    def links_of(self, node: int) -> tuple[str, ...]:
        """The replication links to and from ``node``."""
        others = [peer for peer in self.nodes if peer != node]
        return tuple(name for peer in others for name in (link(node, peer), link(peer, node)))

    def world(self) -> Settings:
        return new_world(self.settings, PARTITIONS, "r")

    def apps(self, world: Settings, logs: Path, replicas: int = REPLICAS) -> dict[str, App]:
        """The command service and ``replicas`` of each worker, named ``tallies-1`` etc."""
        logs.mkdir(parents=True, exist_ok=True)
        command = next(s for s in services.app_services(world) if s.name == "commands")
        apps = {"commands": App(command, world, logs / "commands.log")}
        for kind in WORKERS:
            for replica in range(1, replicas + 1):
                app = worker(world, kind, replica, logs)
                apps[app.log_path.stem] = app
        return apps

    # -- the cluster's state -----------------------------------------------------------
    def partitions(self, world: Settings) -> dict[int, tuple[int, list[int]]]:
        """partition -> (leader, in-sync replicas) of the world's votes topic, as the
        cluster's metadata has them now (leader -1: none)."""
        client = kafka.admin(world)
        topic = client.list_topics(world.topic, timeout=10).topics[world.topic]
        return {p: (m.leader, sorted(m.isrs)) for p, m in topic.partitions.items()}

    def busiest_leader(self, world: Settings) -> tuple[int, list[int]]:
        """The node that leads the partitions holding the most votes, and those partitions."""
        led: dict[int, list[int]] = {}
        for partition, (leader, _) in self.partitions(world).items():
            led.setdefault(leader, []).append(partition)
        sizes = end_offsets(world, world.topic)
        node = max(led, key=lambda n: sum(sizes[p] for p in led[n]))
        return node, sorted(led[node])

    def led_by_others(self, world: Settings, node: int, led: list[int]) -> bool:
        """Every partition of ``led`` has a leader, and it is not ``node``."""
        now = self.partitions(world)
        return all(now[p][0] not in (node, -1) for p in led)

    def in_sync(self, world: Settings) -> bool:
        """Every partition has a leader and all three replicas in sync."""
        return all(
            leader != -1 and len(isr) == len(nodes(self.settings))
            for leader, isr in self.partitions(world).values()
        )

    def controller(self) -> tuple[int, int]:
        """(node id, epoch) of the quorum's active controller, as the running nodes last
        recorded it in their election state (``quorum-state``, written by every voter at
        each election it sees). A DescribeCluster answer will not do: in KRaft a broker
        names a random broker as "controller" (KIP-919)."""
        seen: list[tuple[int, int]] = []
        for node in nodes(self.settings):
            if kafka.process(self.settings, node).pid() is None:
                continue
            path = node_home(self.settings, node) / "data" / "__cluster_metadata-0"
            state = json.loads((path / "quorum-state").read_text())
            seen.append((int(state["leaderEpoch"]), int(state["leaderId"])))
        assert seen, "no Kafka node is running"
        epoch, leader = max(seen)
        return leader, epoch

    # -- faults --------------------------------------------------------------------------
    def kill_node(self, node: int) -> None:
        """SIGKILL: no controlled shutdown; the node recovers its log at the next start."""
        process = kafka.process(self.settings, node)
        assert process.pid() is not None, f"Kafka node {node} was not running"
        process.kill()

    def stop_node(self, node: int) -> None:
        """SIGTERM: a controlled shutdown (leadership moved away first), as Strimzi's
        rolling update does; SIGKILL after 120 s."""
        assert kafka.process(self.settings, node).stop(120), f"Kafka node {node} was not running"

    def pause_node(self, node: int, pause: bool = True) -> None:
        """SIGSTOP (a long GC pause, a stalled VM): the node's sockets stay open and its
        peers hear nothing; ``pause=False``: SIGCONT."""
        pid = kafka.process(self.settings, node).pid()
        assert pid is not None, f"Kafka node {node} was not running"
        os.kill(pid, signal.SIGSTOP if pause else signal.SIGCONT)

    def start_node(self, node: int) -> None:
        kafka.start_node(self.settings, node, self.listeners[node])

    def start_nodes(self) -> None:
        """Resume a paused node, start the nodes that are down, and wait until each is back
        in the cluster."""
        for process in kafka.processes(self.settings):
            pid = process.pid()
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
        kafka.start(self.settings, self.listeners)
        kafka.wait_ready(self.settings)

    def drop(self, world: Settings) -> None:
        drop_world(world)


def link(source: int, target: int) -> str:
    """The proxy that carries node ``source``'s fetches from node ``target``."""
    return f"kafka{source}-from-kafka{target}"


def replication_ports(settings: Settings, node: int, peer: int) -> tuple[int, int]:
    """(the port ``node`` listens on for ``peer``'s fetches, the port of their link's proxy)."""
    _, port, _ = node_address(settings, node)
    return port + REPLICATION_LISTEN + peer, port + REPLICATION_PROXY + peer


def replication_listeners(settings: Settings, node: int) -> list[Listener]:
    """``node``'s listeners ``REPL1``..``REPL3``, one per fetching node, each advertised at its
    link's proxy (its own one directly); it fetches over its peers' ``REPL<node>``."""
    listeners = []
    for peer in nodes(settings):
        listen, proxy = replication_ports(settings, node, peer)
        advertised = f"{HOST}:{listen if peer == node else proxy}"
        listeners.append(Listener(f"REPL{peer}", listen, advertised, inter_broker=peer == node))
    return listeners


def worker(world: Settings, kind: str, replica: int, logs: Path) -> App:
    """Replica ``replica`` of worker ``kind`` (tallies, audit, board): its own log and
    metrics port (the first's + 10 per replica)."""
    service = next(s for s in services.app_services(world) if s.name == kind)
    setting = f"{kind}_metrics_port"
    own = world.replace(**{setting: getattr(world, setting) + 10 * (replica - 1)})
    return App(service, own, logs / f"{kind}-{replica}.log")


def wait_until(condition: object, timeout: float, what: str) -> float:
    """Poll ``condition`` every 50 ms until true; the seconds it took."""
    assert callable(condition)
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started
