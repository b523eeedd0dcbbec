"""What a local Kafka node and a vote topic are configured with, for one node or three:
each node's directory, ports and server.properties, and the topics' replication. Pure
functions of the settings (tests/infra/test_durability.py compares them with production)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from confluent_kafka.admin import NewTopic

from boleta.settings import REPO_ROOT, Settings

KAFKA_DIR = REPO_ROOT / "infra" / "local" / "kafka"


def nodes(settings: Settings) -> range:
    """The local cluster's node ids: 1 to BOLETA_KAFKA_NODES."""
    return range(1, settings.kafka_nodes + 1)


def node_home(settings: Settings, node: int = 1) -> Path:
    """A node's config and data directory: ``home/kafka`` alone, ``home/kafka/node-N`` of
    several."""
    home = settings.home / "kafka"
    return home if settings.kafka_nodes == 1 else home / f"node-{node}"


def node_name(settings: Settings, node: int = 1) -> str:
    return "kafka" if settings.kafka_nodes == 1 else f"kafka-{node}"


def node_title(settings: Settings, node: int = 1) -> str:
    """A node as errors name it: "Kafka" alone, "Kafka node N" of several."""
    return "Kafka" if settings.kafka_nodes == 1 else f"Kafka node {node}"


def node_address(settings: Settings, node: int = 1) -> tuple[str, int, int]:
    """(host, client port, controller port) of a node (see KAFKA_NODE_PORT_STEP)."""
    host, _ = settings.kafka_host_port
    port, controller_port = settings.kafka_node_ports[node - 1]
    return host, port, controller_port


def replication(settings: Settings) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of every topic: (1, 1) on one node; on
    three, production's (3, 2): an acks=all write is taken only while at least two
    replicas are in sync, so a confirmed vote survives the loss of any one node."""
    return (1, 1) if settings.kafka_nodes == 1 else (3, 2)


@dataclass(frozen=True, slots=True)
class Listener:
    """An extra plaintext listener on ``port`` that advertises ``advertised`` (host:port):
    clients that reach the broker through a proxy must be told the proxy's address, or
    their next connection would bypass it. ``inter_broker``: the node's replicas fetch from
    their leaders over the leaders' listeners of this name (else over PLAINTEXT)."""

    name: str
    port: int
    advertised: str
    inter_broker: bool = False


def render_config(settings: Settings, node: int = 1, listeners: Sequence[Listener] = ()) -> str:
    """A node's server.properties: one node with a quorum of itself, or one of several whose
    controller quorum is all of them (static voters)."""
    host, port, controller_port = node_address(settings, node)
    if settings.kafka_nodes == 1:
        quorum = f"controller.quorum.bootstrap.servers={host}:{controller_port}"
    else:
        voters = ",".join(f"{n}@{host}:{node_address(settings, n)[2]}" for n in nodes(settings))
        quorum = f"controller.quorum.voters={voters}"
    inter_broker = [x.name for x in listeners if x.inter_broker]
    assert len(inter_broker) <= 1, "a node fetches over one listener"
    replicas, min_isr = replication(settings)
    return Template((KAFKA_DIR / "server.properties.template").read_text()).substitute(
        node_id=node,
        quorum=quorum,
        host=host,
        port=port,
        controller_port=controller_port,
        log_dirs=node_home(settings, node) / "data",
        partitions=settings.partitions,
        replicas=replicas,
        min_isr=min_isr,
        extra_listeners="".join(f",{x.name}://{host}:{x.port}" for x in listeners),
        extra_advertised="".join(f",{x.name}://{x.advertised}" for x in listeners),
        extra_protocols="".join(f",{x.name}:PLAINTEXT" for x in listeners),
        inter_broker=inter_broker[0] if inter_broker else "PLAINTEXT",
    )


def broker_properties(
    settings: Settings, node: int = 1, listeners: Sequence[Listener] = ()
) -> dict[str, str]:
    """A node's configuration as Kafka reads it (the rendered server.properties)."""
    lines = render_config(settings, node, listeners).splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def topic_config(settings: Settings) -> dict[str, str]:
    """The vote topics' configuration: kept forever, and as many in-sync copies as the
    cluster's size allows before a write is confirmed; never an unclean leader."""
    _, min_isr = replication(settings)
    return {
        "retention.ms": "-1",
        "retention.bytes": "-1",
        "min.insync.replicas": str(min_isr),
        "unclean.leader.election.enable": "false",
    }


def new_topic(settings: Settings, name: str, partitions: int) -> NewTopic:
    """A vote topic as ``create_topics`` asks for it: on every node of a replicated cluster."""
    replicas, _ = replication(settings)
    return NewTopic(
        name, num_partitions=partitions, replication_factor=replicas, config=topic_config(settings)
    )
