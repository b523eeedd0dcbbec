"""A private boleta on a replicated Kafka cluster: three KRaft nodes (BOLETA_KAFKA_NODES=3,
RF 3, min.insync.replicas 2, as in production), Redis and FerretDB, under their own home
and on their own ports, clear of the default stack and of the chaos suite's single-node
private stack (tests/chaos/stack.py), so both may run in one session.

boleta's processes reach the servers directly: the faults here are the brokers' own.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pymongo
import redis

from boleta import services, stack
from boleta import settings as settings_mod
from boleta.settings import Settings
from boleta.stack import kafka
from tests.chaos.stack import App
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


def replicated_settings(home: Path) -> Settings:
    return settings_mod.load({**PORTS, "BOLETA_HOME": str(home)})


class ReplicatedStack:
    """The three nodes, Redis and FerretDB, started by ``boleta infra up``'s own code."""

    def __init__(self, home: Path) -> None:
        self.settings = replicated_settings(home)
        self.started_s = 0.0  # how long ``up`` took

    def up(self) -> None:
        stack.up(self.settings)

    def down(self) -> None:
        stack.down(self.settings)

    def world(self) -> Settings:
        """Settings of a fresh boleta on this stack: own topics, tag, groups, database."""
        unique = f"r{uuid.uuid4().hex[:10]}"
        world = self.settings.replace(
            topic=f"{unique}.votes",
            dlq_topic=f"{unique}.votes.dlq",
            tallies_tag=f"{{{unique}}}",
            group_prefix=unique,
            mongo_db=unique,
        )
        kafka.create_topics(world, PARTITIONS, world.topic, world.dlq_topic)
        return world

    def apps(self, world: Settings, logs: Path) -> dict[str, App]:
        logs.mkdir(parents=True, exist_ok=True)
        return {
            s.name: App(s, world, logs / f"{s.name}.log")
            for s in services.app_services(world)
            if s.name in ("commands", "tallies", "audit")
        }

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

    def controller(self) -> int:
        client = kafka.admin(self.settings)  # must outlive the future
        cluster = client.describe_cluster(request_timeout=10).result(15)
        return int(cluster.controller.id)

    # -- faults --------------------------------------------------------------------------
    def kill_node(self, node: int) -> None:
        """SIGKILL: no controlled shutdown; the node recovers its log at the next start."""
        process = kafka.process(self.settings, node)
        assert process.pid() is not None, f"Kafka node {node} was not running"
        process.kill()

    def start_nodes(self) -> None:
        """Start the nodes that are down and wait until each is back in the cluster."""
        kafka.start(self.settings)
        kafka.wait_ready(self.settings)

    def drop(self, world: Settings) -> None:
        """Remove a world's topics, keys and database."""
        kafka.admin(world).delete_topics([world.topic, world.dlq_topic], operation_timeout=30)
        with redis.Redis.from_url(world.redis_url) as client:
            for key in client.scan_iter(match=f"*{world.tallies_tag}*", count=1000):
                client.delete(key)
        mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(world.mongo_url)
        with mongo:
            mongo.drop_database(world.mongo_db)


def wait_until(condition: object, timeout: float, what: str) -> float:
    """Poll ``condition`` every 50 ms until true; the seconds it took."""
    assert callable(condition)
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started
