"""Production and the local replicated cluster keep an acknowledged vote the same way.

Both sides are read as the code and the manifests state them: production from the rendered
prod overlay (the Kafka and KafkaNodePool resources, the KafkaTopics, and the producer
configuration the command service builds from its ConfigMap), the local cluster from the
broker properties and topic requests boleta/stack/kafka.py builds for BOLETA_KAFKA_NODES=3
and the same producer configuration. A setting missing on either side fails, even where
Kafka's default would agree: a default is what drifts silently.
"""

from __future__ import annotations

from typing import Any

import pytest

from boleta import settings as boleta_settings
from boleta.serve_commands import vote_log_config
from boleta.stack import kafka_config
from tests.infra.manifests import Doc, environment, of_kind, one

pytestmark = pytest.mark.infra

# What keeps an acknowledged vote: three copies, two of which have it before acks=all
# confirms it; the producer idempotent (a retry never writes a vote twice in a different
# order); only an in-sync replica may become leader.
NODES = 3
LOG = {
    "replication.factor": "3",
    "min.insync.replicas": "2",
    "unclean.leader.election.enable": "false",
}
PRODUCER = {"acks": "all", "enable.idempotence": "true"}

Durability = dict[str, dict[str, str | None]]


def text(value: Any) -> str | None:
    """A setting as Kafka reads it: ``3``, ``false``, ``all``; None when it is not set."""
    return None if value is None else str(value).lower()


def log_settings(replicas: Any, config: dict[str, Any]) -> dict[str, str | None]:
    return {
        "replication.factor": text(replicas),
        "min.insync.replicas": text(config.get("min.insync.replicas")),
        "unclean.leader.election.enable": text(config.get("unclean.leader.election.enable")),
    }


def producer_settings(config: dict[str, Any]) -> dict[str, str | None]:
    return {key: text(config.get(key)) for key in PRODUCER}


def production(docs: list[Doc]) -> tuple[int, Durability]:
    """(Kafka nodes, durability settings by where they are set) in the manifests."""
    pool = one(docs, "KafkaNodePool", "dual")["spec"]
    broker = of_kind(docs, "Kafka")[0]["spec"]["kafka"]["config"]
    found: Durability = {
        "broker": log_settings(broker.get("default.replication.factor"), broker),
        "internal topics": {
            "replication.factor": text(broker.get("offsets.topic.replication.factor")),
            "transaction min.insync.replicas": text(broker.get("transaction.state.log.min.isr")),
        },
    }
    for topic in of_kind(docs, "KafkaTopic"):
        spec = topic["spec"]
        found[f"topic {spec['topicName']}"] = log_settings(spec.get("replicas"), spec["config"])
    commands = one(docs, "Deployment", "commands")["spec"]["template"]["spec"]["containers"][0]
    settings = boleta_settings.load(environment(docs, commands))
    found["command service producer"] = producer_settings(vote_log_config(settings))
    return pool["replicas"], found


def local() -> tuple[int, Durability]:
    """(Kafka nodes, durability settings by where they are set) of the local cluster that
    BOLETA_KAFKA_NODES=3 runs."""
    settings = boleta_settings.load({"BOLETA_KAFKA_NODES": "3"})
    found: Durability = {}
    for node in kafka_config.nodes(settings):
        broker = kafka_config.broker_properties(settings, node)
        found[f"node {node}"] = log_settings(broker.get("default.replication.factor"), broker)
        found[f"node {node} internal topics"] = {
            "replication.factor": text(broker.get("offsets.topic.replication.factor")),
            "transaction min.insync.replicas": text(broker.get("transaction.state.log.min.isr")),
        }
    for name in (settings.topic, settings.dlq_topic):
        topic = kafka_config.new_topic(settings, name, settings.partitions)
        found[f"topic {name}"] = log_settings(topic.replication_factor, topic.config)
    found["command service producer"] = producer_settings(vote_log_config(settings))
    return len(kafka_config.nodes(settings)), found


def expected(where: str) -> dict[str, str]:
    if where.endswith("producer"):
        return PRODUCER
    if where.endswith("internal topics"):
        return {"replication.factor": "3", "transaction min.insync.replicas": "2"}
    return LOG


def drifted(found: Durability) -> list[str]:
    return [
        f"{where}: {key}={got.get(key)!r}, expected {want!r}"
        for where, got in found.items()
        for key, want in expected(where).items()
        if got.get(key) != want
    ]


def test_production_keeps_an_acknowledged_vote(rendered: dict[str, list[Doc]]) -> None:
    nodes, found = production(rendered["prod"])
    assert nodes == NODES
    assert {"topic votes", "topic votes.dlq", "command service producer"} <= set(found)
    assert not drifted(found), "\n".join(drifted(found))


def test_the_local_replicated_cluster_keeps_it_the_same_way() -> None:
    nodes, found = local()
    assert nodes == NODES
    assert {"node 3", "topic votes", "topic votes.dlq", "command service producer"} <= set(found)
    assert not drifted(found), "\n".join(drifted(found))


def test_both_sides_set_the_same_values(rendered: dict[str, list[Doc]]) -> None:
    """The same values where both set them: the votes topic and the producer."""
    _, prod = production(rendered["prod"])
    _, here = local()
    for where in ("topic votes", "topic votes.dlq", "command service producer"):
        assert prod[where] == here[where], where
    brokers = [here[f"node {n}"] for n in range(1, NODES + 1)]
    assert all(broker == prod["broker"] for broker in brokers)
